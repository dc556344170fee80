// defines: finetune_run, what `ftmamba finetune` does: continue training a trained run on a dataset with the
// same schema, with LoRA adapters on a frozen base (writing adapters.safetensors in PEFT names with the base
// run's path and SHA-256, and PEFT's adapter_config.json) or every weight (a standalone model.safetensors);
// and peft_adapter_config, that adapter_config.json.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ftmamba/experiments/train_and_evaluate.h"
#include "ftmamba/experiments/training_progress.h"
#include "ftmamba/ops/precision.h"
#include "ftmamba/run/adapters.h"
#include "ftmamba/run/config_sources.h"
#include "ftmamba/run/records.h"
#include "ftmamba/train/finetune.h"

namespace ftmamba::experiments {

// The data and model a fine-tuning starts from.
struct FinetuneSetup {
  DataCounts data;
  train::FinetunePlan plan;  // the adapted projections; trainable and total parameters
  torch::Device device = torch::kCPU;
  ops::Precision precision = ops::Precision::kFp32;
};

struct FinetuneRequest {
  std::filesystem::path base_run, data_dir, out_dir;
  run::FinetuneOptions options;
  // Applied onto the base run's config; they may change train.*, data.* and eval.* keys, not the model.
  run::ConfigSources config;
  std::string device = "auto";  // a --device value (core/device.h)
  bool quiet = false;           // no progress bar
  bool force = false;           // replace an existing run at out_dir (io::StagedDir)
  bool resume = false;          // continue the interrupted run at out_dir from its checkpoint, if there is one
  // Called once the data is loaded and the adapters attached, before training.
  std::function<void(const FinetuneSetup&)> on_setup;
  // Called after each epoch, once history.jsonl holds it.
  std::function<void(const run::EpochRecord&)> on_epoch;
};

struct FinetuneOutcome {
  FinetuneSetup setup;
  TrainedRun run;
};

// Throws Error for a LoRA base run (merge it first), a config source that changes the model, or a LoRA target
// that matches nothing, before anything is written at out_dir.
FinetuneOutcome finetune_run(const FinetuneRequest& request);

// PEFT's adapter_config.json for a LoRA run, so that PEFT-aware tooling can read the adapter folder's settings.
nlohmann::ordered_json peft_adapter_config(const run::FinetuneOptions& options, const std::vector<std::string>& adapted,
                                           const std::filesystem::path& base_run);

}  // namespace ftmamba::experiments
