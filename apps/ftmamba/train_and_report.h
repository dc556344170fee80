// defines: train_and_report, the part `train` and `finetune` share: train the run's model on the data,
// writing history.jsonl as each epoch ends, save the weights, evaluate on the test split and write
// metrics.json, then print the metrics table.
#pragma once
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>

#include "ftmamba/io/atomic_file.h"
#include "ftmamba/run/records.h"
#include "ftmamba/run/run.h"

namespace ftmamba::cli {

struct TrainAndReport {
  bool quiet = false;
  // Writes the trained weights into the staged run folder (model.safetensors, or adapters.safetensors).
  std::function<void(const std::filesystem::path& dir)> save_weights;
  run::RunMetrics
      metrics;  // a fine-tuned run's fields (finetune, trainable_parameters, base_run); the rest is filled in
};

void train_and_report(io::StagedDir& out, run::Run& run, const run::PreparedData& data, torch::Device device,
                      const TrainAndReport& options);

}  // namespace ftmamba::cli
