// defines: render_comparison_report, the report of `ftmamba compare`: comparison.json -> report.md,
// report.html and figures/ (quality tables, HR@k per epoch, popularity bias, efficiency, runs).
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>

namespace ftmamba::experiments {

// ---- comparison.json (written by `ftmamba compare`) ----------------------------------------------------------
// {
//   "title": "spotify: ft-mamba vs ft-transformer",
//   "created": "2026-11-22T19:40:00Z",
//   "command": "ftmamba compare --data data/spotify ...",
//   "machine": "free text",
//   "dataset": {"dir": "data/spotify", "preset": "spotify" | null, "users": 10000, "items": 3500,
//               "interactions": 160000},
//   "models": ["ft-mamba", "ft-transformer"],        // order sets table rows, colours, and the efficiency ratio
//   "seeds": [1, 2, 3],
//   "ks": [1, 5, 10],                                 // cutoffs shown in the quality table and the HR figure
//   "runs": [{
//     "model": "ft-mamba", "seed": 1,
//     "run_dir": "runs/ft-mamba-seed1",              // relative to the report folder (optional)
//     "best_epoch": 4,                                // optional
//     "test": {"full": {"P@1": .., "R@1": .., "MRR@1": .., "HR@1": .., "NDCG@1": .., ... @5, @10, @20},
//              "sampled": {same keys}},
//     "history": [{"epoch": 1, "seconds": 36.7, "samples_per_sec": 3812.4, "loss": 5.75,
//                  "valid": {"HR@1": .., "HR@5": .., "HR@10": .., ...}}, ...],
//     "efficiency": {"parameters": 189696, "seconds_per_epoch": 36.6, "train_samples_per_sec": 3824.3,
//                    "encode_samples_per_sec": 19000.0, "peak_rss_mib": 812.5},
//     "popularity_bias": {"k": 10, "predicted": [n_items numbers], "actual": [n_items numbers]}
//       // items by training popularity, most popular first; predicted[i] = (test users whose top-k holds item i) / k;
//       // actual[i] = test users whose held-out item is i. Both sum to the number of test users.
//   }, ...],
//   "references": {"oracle": {"full": {..}, "sampled": {..}}, "true-utility": {..}, "popularity": {..}}
//       // seed-independent rankers; any may be absent (real data has only popularity)
// }
// Optional pieces (history, efficiency, popularity_bias, references, a metric key) may be missing: the
// report shows "—" or leaves the figure out. Missing required pieces (runs, model, test.full) are an Error.
//
// Formatting: metrics with 4 decimals; a model's cell is "mean ± std" over its seeds (sample std, n − 1) or the
// mean alone when there is one seed; the best model mean per column is bold (references are never bold).
// Efficiency: parameters as an integer with thousands separators, seconds/epoch with 2 decimals, samples/s as
// integers with separators, peak RSS MiB with 1 decimal, ratio row (first model / second model) with 2 decimals
// and "×".
//
// Files (every one written atomically): report.md (written first, so the numbers survive a failed figure),
// report.html (self-contained; figures as <img src="figures/NAME.svg">), and in figures/: hr_per_epoch and
// popularity_bias as .png, .svg, plus the .dat data and the .gp script that draws them (run `gnuplot NAME.gp`
// in figures/ to redraw). Throws ftmamba::Error "gnuplot not found: apt-get install gnuplot-nox" when gnuplot
// is missing, after writing the markdown, the HTML and the figure data and scripts.
void render_comparison_report(const nlohmann::json& comparison, const std::filesystem::path& report_dir);

}  // namespace ftmamba::experiments
