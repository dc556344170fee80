// defines: the stability analysis of a trained FT-Mamba run (`ftmamba analyze stability`), on real inputs:
//   - each Mamba layer's maximal Lyapunov exponent of its state recurrence h_t = exp(dt_t A) h_{t-1} + ...,
//     estimated from the growth of a tangent perturbation along the sequence (Benettin: propagate, measure,
//     renormalise), beside the exact value for this diagonal recurrence, max over (row, d, n) of
//     mean_t dt[t, d] A[d, n];
//   - the tower's output deviation (and each layer's) under relative input perturbations of size eps, in
//     float64, to show it stays O(eps);
//   - the deviation of each layer's output and of the embedding between fp32 and low-precision forward passes.
// Its report is stability_report.h.
#pragma once
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "ftmamba/data/preprocess.h"
#include "ftmamba/nn/encoder.h"

namespace ftmamba::eval {

struct StabilityOptions {
  std::vector<double> epsilons = {1e-6, 1e-5, 1e-4, 1e-3, 1e-2};
  uint64_t seed = 0;  // the perturbation directions
};

// The analysis of one tower on `inputs` (its rows, already on the tower's device). Returns
// {"layers": [{"layer", "lyapunov_tangent": {"max", "mean"}, "lyapunov_exact": {"max", "mean"},
//              "dt": {"min", "mean", "max"}}],
//  "perturbation": [{"eps", "output_rel_dev", "ratio", "layer_rel_dev": [...]}],
//  "precision": [{"precision", "layer_rel_dev": [...], "output_rel_dev", "output_cosine_distance"}]}.
// Throws Error for a tower that is not FT-Mamba.
nlohmann::ordered_json analyze_tower_stability(nn::TowerEncoder& tower, const data::EncodedFeatures& inputs,
                                               const StabilityOptions& options = {});

}  // namespace ftmamba::eval
