// defines: the pieces of `ftmamba compare-finetune` outside the CLI: how far two runs' embeddings lie apart
// (embedding_divergence), and the report of a fine-tuning comparison (finetune.md and figures/finetune.*)
// from its finetune.json.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>

namespace ftmamba::experiments {

// Mean cosine distance (1 - cos) between two runs' embeddings of every user and every item of a dataset
// (each run's own encodings; fp32).
struct EmbeddingDivergence {
  double users = 0.0;
  double items = 0.0;
};
EmbeddingDivergence embedding_divergence(const std::filesystem::path& run_a, const std::filesystem::path& run_b,
                                         const std::filesystem::path& data_dir, torch::Device device);

// finetune.json holds {"title", "created", "command", "machine", "device", "base": {...}, "drift": {...},
// "variants": [{"name", "mode", "precision", "test": {"HR@10", ...}, "train_samples_per_sec",
// "peak_memory_mib", "memory_measure", "batch_size", "trainable_parameters", "total_parameters",
// "hr10_minus_full_fp32", "cosine_distance_to_full_fp32": {"users", "items"}, "share_of_full_fp32_gain"}]}.
// Writes finetune.md (the table) and figures/finetune.{png,svg,dat,gp} into `dir`; throws Error when gnuplot
// is missing, after the table and the figure sources are written.
void render_finetune_report(const nlohmann::json& report, const std::filesystem::path& dir);

}  // namespace ftmamba::experiments
