// defines: train_run, what `ftmamba train` does: assemble the config, load and split the dataset, build the
// two-tower model, then train it, evaluate it on the test split and write a run folder (config.json,
// model.safetensors, history.jsonl, metrics.json, sampled_negatives.safetensors).
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "ftmamba/experiments/train_and_evaluate.h"
#include "ftmamba/experiments/training_progress.h"
#include "ftmamba/ops/precision.h"
#include "ftmamba/run/config_sources.h"
#include "ftmamba/run/records.h"

namespace ftmamba::experiments {

// The data and model a training starts from.
struct TrainSetup {
  DataCounts data;
  int64_t parameters = 0, user_tower_parameters = 0, item_tower_parameters = 0;
  std::string model_label;  // RunConfig::model_label()
  torch::Device device = torch::kCPU;
  ops::Precision precision = ops::Precision::kFp32;
};

struct TrainRequest {
  std::filesystem::path data_dir, out_dir;
  run::ConfigSources config;    // applied onto the defaults (run/config_sources.h)
  std::string device = "auto";  // a --device value (core/device.h), resolved once the config is valid
  bool quiet = false;           // no progress bar
  bool dry_run = false;         // stop once the model is built: nothing is trained or written
  bool force = false;           // replace an existing run at out_dir (io::StagedDir)
  bool resume = false;          // continue the interrupted run at out_dir from its checkpoint, if there is one
  // Called once the data is loaded and the model built, before training (and on a dry run).
  std::function<void(const TrainSetup&)> on_setup;
  // Called after each epoch, once history.jsonl holds it.
  std::function<void(const run::EpochRecord&)> on_epoch;
};

struct TrainOutcome {
  TrainSetup setup;
  std::optional<TrainedRun> run;  // none on a dry run
};

// Throws Error (DataError for bad data or a bad config file, Error for an out_dir it may not write) before
// anything is written at out_dir.
TrainOutcome train_run(const TrainRequest& request);

}  // namespace ftmamba::experiments
