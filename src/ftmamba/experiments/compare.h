// defines: run_compare, the protocol behind `ftmamba compare`: train each model with each seed on one dataset
// (each training in its own process, through the run cache, so that peak memory is per run), measure each run,
// and write comparison.json and the report (report.md, report.html, figures/) into the output folder.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ftmamba/core/log.h"
#include "ftmamba/nn/encoder.h"

namespace ftmamba::experiments {

struct CompareOptions {
  std::string data;  // dataset folder, as given (comparison.json records it so)
  std::string out;   // report folder: runs go to OUT/runs, their logs to OUT/logs
  std::vector<nn::EncoderType> models;
  std::vector<int64_t> seeds;
  std::string config;             // TOML config file for every run; "" for none
  std::vector<std::string> sets;  // config overrides for every run: section.key=value
  int64_t bias_k = 10;            // top-k list length of the popularity-bias figure
  std::string title;              // "" for "DATASET: MODEL vs MODEL"
  torch::Device device = torch::kCPU;
  bool force = false;              // retrain runs that already finished with the same settings
  bool quiet = false;              // no per-epoch lines in the runs' logs
  std::optional<int64_t> threads;  // --threads of every training (train.threads otherwise)
};

struct CompareResult {
  size_t runs = 0;
  double seconds = 0.0;               // the whole comparison, training included
  std::vector<std::string> warnings;  // models below the popularity baseline (comparison_popularity_check.h)
};

// Loads the dataset first, so that bad data fails before any training. Finished runs with the same arguments are
// reused (a rerun after an interruption loses nothing). Progress goes to `log`. Throws Error for bad options, a
// folder that is not a comparison, or a failed training (finished runs are kept).
CompareResult run_compare(const CompareOptions& options, const Log& log = log_to_stderr);

}  // namespace ftmamba::experiments
