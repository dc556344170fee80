// defines: render_scaling_report, the report of `ftmamba bench scaling`: scaling.json -> scaling.md,
// scaling.html and figures/scaling.* (fitted log-log slopes, the time-against-L figure, the measurements).
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>

namespace ftmamba::experiments {

// ---- scaling.json (written by `ftmamba bench scaling`) ------------------------------------------------------
// {"title": .., "command": .., "machine": .., "batch": 16, "d_token": 64, "n_layers": 2,
//  "points": [{"model": "ft-mamba", "L": 8, "forward_ms": 1.2, "backward_ms": 2.3, "total_ms": 3.5}, ...],
//  "fits": {"ft-mamba": {"slope": 1.02, "slope_from_L": 512}, ...}}   // fits optional, per model
// Writes scaling.md, scaling.html and figures/scaling.{png,svg,dat,gp}: total time against L on log-log axes,
// measured points and the power law with the given slope over L >= slope_from_L (its level is the least-squares
// one for that slope). A model without a fit gets one from fit_loglog over all its points.
void render_scaling_report(const nlohmann::json& scaling, const std::filesystem::path& dir);

}  // namespace ftmamba::experiments
