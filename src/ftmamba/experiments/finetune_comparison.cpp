// defines: embedding_divergence and render_finetune_report (see finetune_comparison.h).
#include "ftmamba/experiments/finetune_comparison.h"

#include <fmt/format.h>

#include "ftmamba/report/figure.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/run/run.h"

namespace ftmamba::experiments {
namespace fs = std::filesystem;

namespace {
// Mean over rows of 1 - cos(a_i, b_i). a, b: (n, E).
double mean_cosine_distance(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.size(0) == 0) return 0.0;
  return (1.0 - torch::cosine_similarity(a.to(torch::kFloat64), b.to(torch::kFloat64), 1, 1e-12)).mean().item<double>();
}

struct Embeddings {
  torch::Tensor users, items;
};

Embeddings embed_all(const fs::path& run_dir, const fs::path& data_dir, torch::Device device) {
  auto run = run::Run::load(run_dir, device);
  auto data = run::prepare_data(data_dir, run.config, &run.user_encoding, &run.item_encoding);
  const int64_t batch = run.config.eval.batch_size;
  return {nn::encode_all(*run.model->user_tower, data.users, batch).cpu(),
          nn::encode_all(*run.model->item_tower, data.items, batch).cpu()};
}

double number(const nlohmann::json& j, const char* key) { return j.contains(key) && j[key].is_number() ? j[key].get<double>() : 0.0; }
}  // namespace

EmbeddingDivergence embedding_divergence(const fs::path& run_a, const fs::path& run_b, const fs::path& data_dir,
                                         torch::Device device) {
  const auto a = embed_all(run_a, data_dir, device), b = embed_all(run_b, data_dir, device);
  return {mean_cosine_distance(a.users, b.users), mean_cosine_distance(a.items, b.items)};
}

void render_finetune_report(const nlohmann::json& report, const fs::path& dir) {
  const auto& variants = report.at("variants");
  const auto& base = report.at("base");
  std::string md = "# " + report.value("title", std::string("Fine-tuning comparison")) + "\n\n";
  md += fmt::format("Created {} on {}.\n\n`{}`\n\n", report.value("created", std::string()),
                    report.value("machine", std::string()), report.value("command", std::string()));
  if (report.contains("drift") && report["drift"].is_object())
    md += fmt::format("The fine-tuning data is the base data with drift: segment `{}` ({} users), strength {}.\n\n",
                      report["drift"].value("segment", std::string("?")), report["drift"].value("users", 0),
                      report["drift"].value("strength", 0.0));
  md += fmt::format(
      "The base model, trained on the base data, scores HR@10 {:.4f} on the fine-tuning data's test split (full "
      "catalog); on its own data's test split it scored {:.4f}.\n\n",
      number(base, "HR@10_on_finetune_data"), number(base, "HR@10_on_base_data"));
  md += "| variant | HR@10 | NDCG@10 | MRR@10 | HR@10 − full fp32 | share of full fp32's gain | cosine distance to full "
        "fp32 (users / items) | train samples/s | peak memory (MiB) | memory per sample (KiB) | trainable parameters |\n";
  md += "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
  std::string dat = "# variant HR@10 train_samples_per_sec KiB_per_sample\n";
  for (const auto& v : variants) {
    const auto& t = v.at("test");
    const double per_sample = number(v, "peak_memory_mib") * 1024.0 / std::max(1.0, number(v, "batch_size"));
    const double trainable = number(v, "trainable_parameters"), total = number(v, "total_parameters");
    md += fmt::format("| {} | {:.4f} | {:.4f} | {:.4f} | {:+.4f} | {:.1f}% | {:.2e} / {:.2e} | {:.0f} | {:.0f} ({}) | {:.1f} | "
                      "{:.0f} ({:.1f}%) |\n",
                      v.value("name", std::string()), number(t, "HR@10"), number(t, "NDCG@10"), number(t, "MRR@10"),
                      number(v, "hr10_minus_full_fp32"), 100.0 * number(v, "share_of_full_fp32_gain"),
                      number(v.value("cosine_distance_to_full_fp32", nlohmann::json::object()), "users"),
                      number(v.value("cosine_distance_to_full_fp32", nlohmann::json::object()), "items"),
                      number(v, "train_samples_per_sec"), number(v, "peak_memory_mib"),
                      v.value("memory_measure", std::string()), per_sample, trainable,
                      total > 0 ? 100.0 * trainable / total : 0.0);
    dat += fmt::format("{} {:.6f} {:.1f} {:.3f}\n", report::gp_quote(v.value("name", std::string())), number(t, "HR@10"),
                       number(v, "train_samples_per_sec"), per_sample);
  }
  md += "\nHR@10 − full fp32 and the cosine distances measure how far each variant lands from full fp32 fine-tuning "
        "(the reference); the share of the gain is (HR@10 − base) / (full fp32 HR@10 − base). Memory per sample is "
        "the peak divided by the batch size.\n\n![fine-tuning comparison](figures/finetune.svg)\n";
  io::write_file_atomic(dir / "finetune.md", md);

  const fs::path fig_dir = dir / "figures";
  fs::create_directories(fig_dir);
  const std::string body = fmt::format(
      "  set multiplot layout 1,3\n"
      "  set style data histograms\n  set style fill solid 0.8 border -1\n  set boxwidth 0.8\n"
      "  set xtics rotate by -35 nomirror\n  set grid ytics\n  unset key\n"
      "  set title \"test HR@10 (line: base model)\"\n  set yrange [0:*]\n"
      "  plot \"finetune.dat\" using 2:xtic(1) lc rgb \"#3b6ea8\", {:.6f} with lines lw 2 lc rgb \"#c0392b\"\n"
      "  set title \"training samples/s\"\n"
      "  plot \"finetune.dat\" using 3:xtic(1) lc rgb \"#4c9a5b\"\n"
      "  set title \"peak memory per sample (KiB)\"\n"
      "  plot \"finetune.dat\" using 4:xtic(1) lc rgb \"#b07d2a\"\n"
      "  unset multiplot\n",
      number(base, "HR@10_on_finetune_data"));
  const report::FigureJob fig{"finetune", dat,
                      report::figure_script("finetune", "Fine-tuning variants: quality, speed and memory", 1500, 480, body)};
  report::write_figure_sources(fig_dir, fig);
  report::draw_figures(fig_dir, {fig});
}

}  // namespace ftmamba::experiments
