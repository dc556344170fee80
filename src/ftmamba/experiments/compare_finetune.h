// defines: run_compare_finetune, the protocol behind `ftmamba compare-finetune`: train a base model on one
// dataset, fine-tune it on a shifted one (same schema, e.g. from `generate --drift`) in several variants (full or
// LoRA, each in several precisions), each in its own process through the run cache, and compare them: metrics
// after fine-tuning, training samples/s, peak memory, trainable parameters, and the distance of each from full
// fp32 fine-tuning (the change in HR@10, the embedding cosine distance). Writes finetune.json, finetune.md and a
// figure.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ftmamba/core/log.h"
#include "ftmamba/train/finetune.h"

namespace ftmamba::experiments {

struct CompareFinetuneOptions {
  std::string base_data;  // the dataset the base model trains on, as given (finetune.json records it so)
  std::string data;       // the dataset to fine-tune on
  std::string out;        // report folder: runs go to OUT/runs, their logs to OUT/logs
  // Empty: default_finetune_variants(device). full-fp32 is the reference and must be among them.
  std::vector<train::FinetuneVariant> variants;
  std::vector<std::string> sets;       // config overrides for the base training and every fine-tuning
  std::vector<std::string> base_sets;  // config overrides for the base training only
  int64_t lora_rank = 8;
  double lora_alpha = 16.0;
  std::string title;  // "" for "Fine-tuning DATA from BASE_DATA"
  torch::Device device = torch::kCPU;
  bool force = false;              // retrain runs that already finished with the same settings
  std::optional<int64_t> threads;  // --threads of every training (train.threads otherwise)
};

// full-fp32, full-bf16, lora-fp32, lora-bf16, and on a GPU full-fp16, lora-fp16.
std::vector<train::FinetuneVariant> default_finetune_variants(torch::Device device);

struct CompareFinetuneResult {
  double seconds = 0.0;  // the whole comparison, training included
};

// Finished runs with the same arguments (and device) are reused. Progress goes to `log`. Throws Error for a
// variant the device cannot run, variants without full-fp32, a folder that is not a fine-tuning comparison, or a
// failed training (finished runs are kept).
CompareFinetuneResult run_compare_finetune(const CompareFinetuneOptions& options, const Log& log = log_to_stderr);

}  // namespace ftmamba::experiments
