// defines: Recommender, a trained run ready to recommend: the run, its dataset, every item encoded once and
// each user's seen items; top-k for a known user, a new user given by features (cold start), or many users.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ftmamba/data/dataset.h"
#include "ftmamba/data/preprocess.h"
#include "ftmamba/run/run.h"
#include "ftmamba/serve/recommendation.h"

namespace ftmamba::serve {

// A new user's features as (name, value) text pairs; a feature not listed is missing.
using FeatureValues = std::vector<std::pair<std::string, std::string>>;

class Recommender {
 public:
  // Loads the run onto `device`, the dataset (data_dir, or when empty the one the run was trained on), and
  // encodes every item. Sets the CPU threads to the run's train.threads, as every command running a model does.
  // Throws Error naming the file for a bad run or dataset, and the item whose embedding is not finite.
  static Recommender load(const std::filesystem::path& run_dir, const std::filesystem::path& data_dir = {},
                          torch::Device device = torch::kCPU);

  // The k best items for a user of the dataset. Unless include_seen, the items the user interacted with (in any
  // split) are left out, so fewer than k come back when fewer remain. Throws Error naming an unknown user.
  Recommendations recommend(const std::string& user_id, int64_t k, bool include_seen = false) const;

  // Cold start: the k best items for a user who is not in the data, from the given features (the others missing).
  // Nothing is masked. `label` becomes Recommendations::user. Throws Error naming an unknown feature, an
  // unparsable value, or the feature(s) that make the user's embedding non-finite.
  Recommendations recommend_new_user(const FeatureValues& features, int64_t k, const std::string& label = "") const;

  // recommend() for many users (rows of users.csv), encoded and scored `block` users at a time ((block, n_items)
  // scores), in the order given. Throws Error naming a row out of range.
  std::vector<Recommendations> recommend_batch(const std::vector<int64_t>& user_rows, int64_t k,
                                               bool include_seen = false, int64_t block = 1024) const;

  std::optional<int64_t> find_user(const std::string& user_id) const;  // the user's row, if in the data
  const std::vector<int64_t>& seen_items(int64_t user_row) const;      // item rows, ascending, distinct
  const run::Run& run() const { return run_; }
  const data::Dataset& dataset() const { return dataset_; }
  const torch::Tensor& item_embeddings() const { return item_emb_; }  // (n_items, E) float32, on the device

 private:
  Recommender() = default;
  // Embeddings of every row of `users` (known users' rows or new users' features): (n, E) on the device.
  torch::Tensor encode_users(const data::EncodedFeatures& users, int64_t batch_size) const;
  // Top-k per user of (B, E) embeddings; masked[b] (null for none) lists item rows to leave out for user b,
  // labels[b] names user b in errors.
  std::vector<std::vector<ScoredItem>> top_k(const torch::Tensor& user_emb,
                                             const std::vector<const std::vector<int64_t>*>& masked, int64_t k,
                                             const std::vector<std::string>& labels) const;
  // Throws Error naming the given feature(s) behind a new user's non-finite embedding.
  [[noreturn]] void explain_non_finite(const FeatureValues& features) const;

  run::Run run_;
  data::Dataset dataset_;
  data::EncodedFeatures users_;             // every user, encoded with the run's user encoding (CPU)
  torch::Tensor item_emb_;                  // (n_items, E)
  std::vector<std::vector<int64_t>> seen_;  // per user row
};

}  // namespace ftmamba::serve
