// defines: the sweep behind `ftmamba bench finetune`: every (shape, length, variant) of the LM fine-tuning
// benchmark (lm_finetune_bench.h), each in its own process so that its peak memory is its own, as JSON rows;
// writes bench-finetune.json and bench-finetune.md.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ftmamba/core/log.h"
#include "ftmamba/train/finetune.h"

namespace ftmamba::experiments {

struct LmFinetuneSweepOptions {
  std::vector<std::string> shapes;               // lm_bench_shape names: 130m, 370m, ... or LAYERSxD_MODEL
  std::vector<int64_t> lengths;                  // sequence lengths
  std::vector<train::FinetuneVariant> variants;  // full-fp32 is the reference the report's ratios take
  int64_t batch = 4, steps = 5, warmup = 2;
  int64_t vocab = 50280;
  int64_t lora_rank = 8;
  double lora_alpha = 16.0;
  std::vector<std::string> lora_targets{"in_proj", "x_proj", "dt_proj", "out_proj"};
  uint64_t seed = 0;
  // A text and the tokenizer.json that cuts it: the steps train on windows of its ids instead of random tokens.
  std::string text, tokenizer;
  bool cuda_graph = true;  // on a GPU, replay each step from a CUDA graph
  std::string out = "reports/bench-finetune";
  torch::Device device = torch::kCPU;
};

// Throws Error for empty shapes, lengths or variants, an unknown shape, a variant the device cannot run, or
// --text without --tokenizer (or the reverse), or a tokenizer with more ids than --vocab.
void check_lm_finetune_sweep(const LmFinetuneSweepOptions& options);

// One measurement in this process: {"bench": "finetune", "impl", "device", "shape", "n_layers", "d_model", "vocab",
// "length", "batch", "variant", "step_ms", "tokens_per_s", "peak_gpu_mib", "gpu_kib_per_token", "trainable",
// "total", "loss_first", "loss_last", "losses" (every step's), "skipped_steps", "cuda_graph", "tokens" ("random", or
// the text file with its token count)}.
nlohmann::ordered_json measure_lm_finetune(const LmFinetuneSweepOptions& options, const std::string& shape,
                                           int64_t length, const train::FinetuneVariant& variant);

// A row as it is measured: measure_lm_finetune's, plus "peak_rss_mib" and "kib_per_token" (the memory that bounds
// the step: the GPU allocator's peak on a GPU, the process's RSS on the CPU); or, when its process failed (out of
// memory at a large shape is a result, not a reason to lose the others), {"bench", "impl", "shape", "length",
// "batch", "variant", "error", "n_layers", "d_model"}.
using LmFinetuneRowSink = std::function<void(const nlohmann::ordered_json& row)>;

// Measures every (shape, length, variant), each by running this executable's `bench finetune --single` in a child
// process (its stdout in OUT/logs/TAG.json), hands each row to `on_row`, and writes OUT/bench-finetune.json
// {"device", "rows"} and OUT/bench-finetune.md. Returns the rows.
nlohmann::ordered_json run_lm_finetune_sweep(const LmFinetuneSweepOptions& options, const LmFinetuneRowSink& on_row,
                                             const Log& log = log_to_stderr);

}  // namespace ftmamba::experiments
