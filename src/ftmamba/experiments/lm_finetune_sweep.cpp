// defines: check_lm_finetune_sweep, measure_lm_finetune and run_lm_finetune_sweep (see lm_finetune_sweep.h).
#include "ftmamba/experiments/lm_finetune_sweep.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <fstream>
#include <utility>

#include "ftmamba/core/device.h"
#include "ftmamba/core/error.h"
#include "ftmamba/core/subprocess.h"
#include "ftmamba/experiments/lm_finetune_bench.h"
#include "ftmamba/experiments/lm_finetune_bench_report.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/lm/tokenizer.h"
#include "ftmamba/ops/precision.h"

namespace ftmamba::experiments {
namespace fs = std::filesystem;

namespace {

// The child's arguments: `bench finetune --single` for one (shape, length, variant).
std::vector<std::string> single_arguments(const LmFinetuneSweepOptions& o, const std::string& shape, int64_t length,
                                          const train::FinetuneVariant& variant) {
  std::vector<std::string> argv = {self_executable().string(), "bench", "finetune", "--single"};
  const std::vector<std::pair<std::string, std::string>> options = {
      {"--shapes", shape},
      {"--lengths", std::to_string(length)},
      {"--variants", variant.name()},
      {"--batch", std::to_string(o.batch)},
      {"--steps", std::to_string(o.steps)},
      {"--warmup", std::to_string(o.warmup)},
      {"--vocab", std::to_string(o.vocab)},
      {"--lora.rank", std::to_string(o.lora_rank)},
      {"--lora.alpha", fmt::format("{}", o.lora_alpha)},
      {"--lora.targets", fmt::format("{}", fmt::join(o.lora_targets, ","))},
      {"--seed", std::to_string(o.seed)},
      {"--device", o.device.str()}};
  for (const auto& [name, value] : options) argv.insert(argv.end(), {name, value});
  if (!o.text.empty()) argv.insert(argv.end(), {"--text", o.text, "--tokenizer", o.tokenizer});
  if (!o.cuda_graph) argv.push_back("--no-graph");
  return argv;
}

}  // namespace

void check_lm_finetune_sweep(const LmFinetuneSweepOptions& o) {
  if (o.shapes.empty() || o.variants.empty()) throw Error("--shapes and --variants must not be empty");
  if (o.lengths.empty()) throw Error("--lengths is empty");
  for (const auto& s : o.shapes) lm_bench_shape(s, o.vocab);  // fail before any work
  for (const auto& v : o.variants) ops::check_precision_supported(v.precision, o.device);
  if (o.text.empty() != o.tokenizer.empty()) throw Error("--text and --tokenizer go together");
  if (!o.tokenizer.empty()) {
    const int64_t ids = lm::Tokenizer::load(o.tokenizer).vocab_size();
    if (ids > o.vocab)
      throw Error(fmt::format("--tokenizer {}: {} ids, more than the model's --vocab {}", o.tokenizer, ids, o.vocab));
  }
}

nlohmann::ordered_json measure_lm_finetune(const LmFinetuneSweepOptions& a, const std::string& shape, int64_t length,
                                           const train::FinetuneVariant& variant) {
  LmFinetuneBenchOptions o;
  o.model = lm_bench_shape(shape, a.vocab);
  o.batch = a.batch;
  o.length = length;
  o.steps = a.steps;
  o.warmup_steps = a.warmup;
  o.lora = {a.lora_rank, a.lora_alpha, 0.0};
  o.lora_targets = a.lora_targets;
  o.seed = a.seed;
  o.cuda_graph = a.cuda_graph;
  if (!a.text.empty()) o.corpus = tokenize_corpus(a.text, a.tokenizer);
  const auto r = bench_lm_finetune(o, variant, a.device);
  const double tokens = static_cast<double>(a.batch * length);
  return {{"bench", "finetune"},
          {"impl", "ftmamba"},
          {"device", describe_device(a.device)},
          {"shape", shape},
          {"n_layers", o.model.n_layers},
          {"d_model", o.model.d_model},
          {"vocab", o.model.vocab_size},
          {"length", length},
          {"batch", a.batch},
          {"variant", variant.name()},
          {"step_ms", r.step_ms},
          {"tokens_per_s", r.tokens_per_s},
          {"peak_gpu_mib", r.peak_gpu_mib},
          {"gpu_kib_per_token", r.peak_gpu_mib * 1024.0 / tokens},
          {"trainable", r.trainable},
          {"total", r.total},
          {"loss_first", r.loss_first},
          {"loss_last", r.loss_last},
          {"losses", r.losses},
          {"skipped_steps", r.skipped_steps},
          {"cuda_graph", r.cuda_graph},
          {"tokens", o.corpus.defined() ? fmt::format("{} ({} tokens)", a.text, o.corpus.numel()) : "random"}};
}

nlohmann::ordered_json run_lm_finetune_sweep(const LmFinetuneSweepOptions& o, const LmFinetuneRowSink& on_row,
                                             const Log& log) {
  check_lm_finetune_sweep(o);
  const fs::path out = o.out;
  fs::create_directories(out / "logs");
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const auto& shape : o.shapes)
    for (const int64_t length : o.lengths)
      for (const auto& variant : o.variants) {
        const std::string tag = fmt::format("{}-L{}-{}", shape, length, variant.name());
        const fs::path result_file = out / "logs" / (tag + ".json");
        log(fmt::format("bench finetune: {} ...", tag));
        const ChildResult child = run_child(single_arguments(o, shape, length, variant), result_file);
        nlohmann::ordered_json row;
        std::ifstream in(result_file);
        std::string line;
        if (child.exit_code == 0 && std::getline(in, line)) {
          row = nlohmann::ordered_json::parse(line);
          row["peak_rss_mib"] = child.max_rss_mib;
          // The memory that bounds the step: the GPU's allocator peak on a GPU, the process's RSS on the CPU.
          const double mib = o.device.is_cuda() ? row["peak_gpu_mib"].get<double>() : child.max_rss_mib;
          row["kib_per_token"] = mib * 1024.0 / static_cast<double>(o.batch * length);
        } else {
          // Out of memory at a large shape is a result, not a reason to lose the others.
          row = {{"bench", "finetune"},
                 {"impl", "ftmamba"},
                 {"shape", shape},
                 {"length", length},
                 {"batch", o.batch},
                 {"variant", variant.name()},
                 {"error", fmt::format("exit {} (stderr above)", child.exit_code)}};
          const auto cfg = lm_bench_shape(shape, o.vocab);
          row["n_layers"] = cfg.n_layers;
          row["d_model"] = cfg.d_model;
        }
        on_row(row);
        rows.push_back(row);
      }
  const std::string device_name = describe_device(o.device);
  io::write_file_atomic(out / "bench-finetune.json",
                        nlohmann::ordered_json({{"device", device_name}, {"rows", rows}}).dump(2) + "\n");
  io::write_file_atomic(out / "bench-finetune.md", render_lm_finetune_bench_markdown(rows, device_name));
  return rows;
}

}  // namespace ftmamba::experiments
