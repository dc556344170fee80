// defines: train_and_evaluate, the step `train` and `finetune` share: in a staged run folder, write
// config.json, train the run's model (history.jsonl rewritten as each epoch ends, checkpoints in
// checkpoint/), save the weights, evaluate on the test split, write metrics.json, and commit the folder.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <functional>

#include "ftmamba/io/staged_dir.h"
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
  bool resumed = false;       // continued from an interrupted run's checkpoint
};

// Nothing appears at out's final path unless every step succeeds. When `out` was adopted (--resume), training
// continues from its checkpoint, provided the run's config is the one the interrupted run started with. On a
// signal or a divergence after a checkpoint, the staging folder is kept for --resume.
TrainedRun train_and_evaluate(io::StagedDir& out, run::Run& run, const run::PreparedData& data, torch::Device device,
                              const TrainAndEvaluateOptions& options);

// The output policy of a command writing a run folder: --force, --resume, and the folders it reads.
io::OutputPolicy run_output_policy(bool force, bool resume, std::vector<std::filesystem::path> inputs);

}  // namespace ftmamba::experiments
