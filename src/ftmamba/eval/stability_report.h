// defines: render_stability_report, the report of `ftmamba analyze stability`: the analysis JSON of
// stability.h -> stability.md and figures/stability.* (per tower: Lyapunov exponents, response to input
// perturbations, low-precision deviation).
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>

namespace ftmamba::eval {

// Writes stability.md and figures/stability.{png,svg,dat,gp} (deviation against eps, log-log, one line per
// tower) from the analysis JSON {"run", "data", "rows", "machine", "towers": {"user": ..., "item": ...}}, each
// tower as analyze_tower_stability returns it. Throws Error when gnuplot is missing, after writing the table and
// the figure sources.
void render_stability_report(const nlohmann::json& stability, const std::filesystem::path& dir);

}  // namespace ftmamba::eval
