// defines: embedding_divergence, how far two runs' embeddings lie apart, which `ftmamba compare-finetune`
// measures for each variant against full fp32 (its report is finetune_report.h).
#pragma once
#include <torch/torch.h>

#include <filesystem>

namespace ftmamba::experiments {

// Mean cosine distance (1 - cos) between two runs' embeddings of every user and every item of a dataset
// (each run's own encodings; fp32).
struct EmbeddingDivergence {
  double users = 0.0;
  double items = 0.0;
};
EmbeddingDivergence embedding_divergence(const std::filesystem::path& run_a, const std::filesystem::path& run_b,
                                         const std::filesystem::path& data_dir, torch::Device device);

}  // namespace ftmamba::experiments
