// defines: train_and_evaluate, the step `train` and `finetune` share: in a staged run folder, write
// config.json, train the run's model (history.jsonl rewritten as each epoch ends), save the weights, evaluate
// on the test split, write metrics.json, and commit the folder.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <functional>

#include "ftmamba/run/records.h"
#include "ftmamba/run/run.h"

namespace ftmamba::experiments {

struct TrainAndEvaluateOptions {
  bool quiet = false;  // no progress bar
  // Called after each epoch, once history.jsonl holds it.
  std::function<void(const run::EpochRecord&)> on_epoch;
  // Writes the trained weights into the staged folder (model.safetensors, or the adapter files).
  std::function<void(const std::filesystem::path& dir)> save_weights;
  // The fields the caller knows (a fine-tuned run's finetune, trainable_parameters, base_run); the rest is
  // filled in.
  run::RunMetrics metrics;
};

struct TrainedRun {
  std::filesystem::path dir;  // the committed run folder
  run::RunMetrics metrics;    // what metrics.json holds
};

// Nothing appears at out_dir unless every step succeeds; an existing folder there is replaced.
TrainedRun train_and_evaluate(const std::filesystem::path& out_dir, run::Run& run, const run::PreparedData& data,
                              torch::Device device, const TrainAndEvaluateOptions& options);

}  // namespace ftmamba::experiments
