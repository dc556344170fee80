// defines: run_scaling_bench, the benchmark behind `ftmamba bench scaling`: encoder forward + backward time
// against the number of feature tokens L on a wide synthetic table, per model, with fitted log-log slopes;
// writes scaling.json and its report (scaling.md, scaling.html, figures/).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ftmamba/core/log.h"
#include "ftmamba/nn/encoder.h"

namespace ftmamba::experiments {

struct ScalingBenchOptions {
  std::vector<nn::EncoderType> models;
  std::vector<int64_t> lengths;  // token counts L (L - 1 numerical features plus [CLS]), each >= 2
  int64_t batch = 4, d_token = 64, n_layers = 2;
  int64_t fit_from = 512;    // the slope is fitted over L >= this
  double min_seconds = 1.0;  // time spent per point (at least 3 repetitions)
  int64_t threads = 1;       // CPU threads
  std::string out = "reports/scaling";
  torch::Device device = torch::kCPU;
};

// One point as it is measured: {"bench": "scaling", "model", "L", "batch", "forward_ms", "backward_ms",
// "total_ms", "wall_ms"}.
using ScalingPointSink = std::function<void(const nlohmann::ordered_json& point)>;

// Times every model at every L (median over repetitions after a warm-up; process CPU time on the CPU, where
// one thread runs every op, GPU wall time on a GPU), hands each point to `on_point`, writes scaling.json into
// options.out, logs the fitted slopes and renders the report. Returns scaling.json's content. Throws Error for
// an L below 2.
nlohmann::ordered_json run_scaling_bench(const ScalingBenchOptions& options, const ScalingPointSink& on_point,
                                         const Log& log = log_to_stderr);

}  // namespace ftmamba::experiments
