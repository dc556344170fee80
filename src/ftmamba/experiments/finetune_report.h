// defines: render_finetune_report, the report of `ftmamba compare-finetune`: finetune.json -> finetune.md and
// figures/finetune.* (each fine-tuning variant's quality, distance from full fp32, speed and memory).
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>

namespace ftmamba::experiments {

// finetune.json holds {"title", "created", "command", "machine", "device", "base": {...}, "drift": {...},
// "variants": [{"name", "mode", "precision", "test": {"HR@10", ...}, "train_samples_per_sec",
// "peak_memory_mib", "memory_measure", "batch_size", "trainable_parameters", "total_parameters",
// "hr10_minus_full_fp32", "cosine_distance_to_full_fp32": {"users", "items"}, "share_of_full_fp32_gain"}]}.
// Writes finetune.md (the table) and figures/finetune.{png,svg,dat,gp} into `dir`; throws Error when gnuplot
// is missing, after the table and the figure sources are written.
void render_finetune_report(const nlohmann::json& finetune, const std::filesystem::path& dir);

}  // namespace ftmamba::experiments
