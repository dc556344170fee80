// defines: render_lm_finetune_bench_markdown (see lm_finetune_bench_report.h).
#include "ftmamba/experiments/lm_finetune_bench_report.h"

#include <fmt/format.h>

#include <map>
#include <sstream>
#include <vector>

namespace ftmamba::experiments {
namespace {

std::string fixed(double v, int digits) { return fmt::format("{:.{}f}", v, digits); }

}  // namespace

std::string render_lm_finetune_bench_markdown(const nlohmann::ordered_json& rows, const std::string& device) {
  std::ostringstream md;
  md << "# Fine-tuning a Mamba language model: tokens/s and memory per token\n\n"
     << "Device: " << device << ". Random token sequences, next-token cross-entropy, AdamW; each variant in its own "
     << "process. Memory per token is the peak "
     << (device.rfind("cuda", 0) == 0 ? "allocated GPU memory" : "resident set size of the process")
     << " (weights, gradients, optimizer state and activations) over the tokens of one step. The paper "
        "reports MPFT + PEFT at up to "
     << kPaperSpeedup << "x the tokens/s of full fp32 fine-tuning, with " << kPaperMemoryReduction * 100
     << "% less memory per token.\n";
  std::map<std::string, std::vector<nlohmann::ordered_json>> groups;
  std::vector<std::string> order;
  for (const auto& r : rows) {
    const std::string key = fmt::format("{} (layers {}, d_model {}), L {}, batch {}", r["shape"].get<std::string>(),
                                        r["n_layers"].get<int64_t>(), r["d_model"].get<int64_t>(),
                                        r["length"].get<int64_t>(), r["batch"].get<int64_t>());
    if (!groups.count(key)) order.push_back(key);
    groups[key].push_back(r);
  }
  for (const auto& key : order) {
    md << "\n## " << key << "\n\n"
       << "| variant | tokens/s | x full-fp32 | memory KiB/token | less than full-fp32 | trainable | loss first -> "
          "last |\n"
       << "| --- | ---: | ---: | ---: | ---: | ---: | --- |\n";
    const auto& g = groups[key];
    const nlohmann::ordered_json* ref = nullptr;
    for (const auto& r : g)
      if (r["variant"] == "full-fp32" && !r.contains("error")) ref = &r;
    for (const auto& r : g) {
      md << "| " << r["variant"].get<std::string>() << " | ";
      if (r.contains("error")) {
        md << "failed: " << r["error"].get<std::string>() << " | | | | | |\n";
        continue;
      }
      const double kib = r["kib_per_token"].get<double>();
      md << fixed(r["tokens_per_s"].get<double>(), 0) << " | "
         << (ref ? fixed(r["tokens_per_s"].get<double>() / (*ref)["tokens_per_s"].get<double>(), 2) + "x" : "-")
         << " | " << fixed(kib, 1) << " | "
         << (ref ? fixed(100.0 * (1.0 - kib / (*ref)["kib_per_token"].get<double>()), 1) + "%" : "-") << " | "
         << r["trainable"].get<int64_t>() << " of " << r["total"].get<int64_t>() << " | "
         << fixed(r["loss_first"].get<double>(), 3) << " -> " << fixed(r["loss_last"].get<double>(), 3) << " |\n";
    }
  }
  return md.str();
}

}  // namespace ftmamba::experiments
