// defines: analyze_run_stability, the analysis behind `ftmamba analyze stability`: the stability analysis
// (stability.h) of each FT-Mamba tower of a trained run on real rows, written as stability.json, stability.md and
// a figure.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "ftmamba/core/log.h"

namespace ftmamba::eval {

struct RunStabilityOptions {
  std::string run;      // run folder, as given (stability.json records it so)
  std::string data;     // dataset whose rows are the inputs; "" for the run's own
  std::string out;      // report folder; "" for RUN/stability
  int64_t rows = 1024;  // users and items analysed: the first ROWS of each table
  uint64_t seed = 0;    // the perturbation directions
  torch::Device device = torch::kCPU;
};

// Each tower's analysis as it finishes: side is "user" or "item", tower analyze_tower_stability's result.
using TowerStabilitySink = std::function<void(const std::string& side, const nlohmann::ordered_json& tower)>;

struct RunStabilityResult {
  std::filesystem::path out;      // where the report went
  nlohmann::ordered_json report;  // stability.json's content
};

// Analyses every FT-Mamba tower of the run (a tower of another type is logged and skipped), hands each to
// `on_tower`, writes OUT/stability.json and renders the report. Throws Error for rows < 1 or a run with no
// FT-Mamba tower.
RunStabilityResult analyze_run_stability(const RunStabilityOptions& options, const TowerStabilitySink& on_tower,
                                         const Log& log = log_to_stderr);

}  // namespace ftmamba::eval
