// defines: embedding_divergence (see finetune_comparison.h).
#include "ftmamba/experiments/finetune_comparison.h"

#include "ftmamba/run/run.h"

namespace ftmamba::experiments {
namespace fs = std::filesystem;

namespace {
// Mean over rows of 1 - cos(a_i, b_i). a, b: (n, E).
double mean_cosine_distance(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.size(0) == 0) return 0.0;
  return (1.0 - torch::cosine_similarity(a.to(torch::kFloat64), b.to(torch::kFloat64), 1, 1e-12)).mean().item<double>();
}

struct Embeddings {
  torch::Tensor users, items;
};

Embeddings embed_all(const fs::path& run_dir, const fs::path& data_dir, torch::Device device) {
  auto run = run::Run::load(run_dir, device);
  auto data = run::prepare_data(data_dir, run.config, &run.user_encoding, &run.item_encoding);
  const int64_t batch = run.config.eval.batch_size;
  return {nn::encode_all(*run.model->user_tower, data.users, batch).cpu(),
          nn::encode_all(*run.model->item_tower, data.items, batch).cpu()};
}

}  // namespace

EmbeddingDivergence embedding_divergence(const fs::path& run_a, const fs::path& run_b, const fs::path& data_dir,
                                         torch::Device device) {
  const auto a = embed_all(run_a, data_dir, device), b = embed_all(run_b, data_dir, device);
  return {mean_cosine_distance(a.users, b.users), mean_cosine_distance(a.items, b.items)};
}

}  // namespace ftmamba::experiments
