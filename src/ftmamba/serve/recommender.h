// defines: Recommender, a trained run ready to recommend: the run, its users and items (stored in the run, or
// from a dataset), every item encoded once and each user's seen items; top-k for a known user, a new user given
// by features (cold start), or many users, block by block.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ftmamba/data/preprocess.h"
#include "ftmamba/run/inference_data.h"
#include "ftmamba/run/run.h"
#include "ftmamba/serve/recommendation.h"

namespace ftmamba::serve {

// A new user's features as (name, value) text pairs; a feature not listed is missing.
using FeatureValues = std::vector<std::pair<std::string, std::string>>;

class Recommender {
 public:
  // Loads the run onto `device`, its users and items (the dataset at data_dir when given; else the run's
  // inference.safetensors; else the dataset it was trained on: run::inference_data_for), and encodes every item.
  // Sets the CPU threads to the run's train.threads, as every command running a model does. Throws Error naming
  // the file for a bad run or dataset (or the missing one, and --data), and the item whose embedding is not finite.
  static Recommender load(const std::filesystem::path& run_dir, const std::filesystem::path& data_dir = {},
                          torch::Device device = torch::kCPU);

  // The k best items for a user of the dataset. Unless include_seen, the items the user interacted with (in any
  // split) are left out, so fewer than k come back when fewer remain. Throws Error naming an unknown user.
  Recommendations recommend(const std::string& user_id, int64_t k, bool include_seen = false) const;

  // Cold start: the k best items for a user who is not in the data, from the given features (the others missing).
  // Nothing is masked. `label` becomes Recommendations::user. Throws Error naming an unknown feature, an
  // unparsable value, or the feature(s) that make the user's embedding non-finite.
  Recommendations recommend_new_user(const FeatureValues& features, int64_t k, const std::string& label = "") const;

  // recommend() for many users (user rows), encoded and scored `block` users at a time ((block, n_items)
  // scores), in the order given. Throws Error naming a row out of range.
  std::vector<Recommendations> recommend_batch(const std::vector<int64_t>& user_rows, int64_t k,
                                               bool include_seen = false, int64_t block = 1024) const;
  // recommend_batch without holding every result: `sink` gets each block's recommendations, in order, as they are
  // computed (it may move them out). Rows are range-checked before any work.
  using BlockSink = std::function<void(std::vector<Recommendations>& block)>;
  void recommend_blocks(const std::vector<int64_t>& user_rows, int64_t k, bool include_seen, int64_t block,
                        const BlockSink& sink) const;

  // The user tower's embeddings of the given user rows, (n, E) on the device (the queries of an item index's
  // recall report). Throws Error naming a row out of range.
  torch::Tensor user_embeddings(const std::vector<int64_t>& user_rows) const;

  std::optional<int64_t> find_user(const std::string& user_id) const;  // the user's row, if in the data
  const std::vector<int64_t>& seen_items(int64_t user_row) const;      // item rows, ascending, distinct
  const run::Run& run() const { return run_; }
  const run::InferenceData& data() const { return data_; }            // users, items, seen items
  const torch::Tensor& item_embeddings() const { return item_emb_; }  // (n_items, E) float32, on the device

 private:
  Recommender() = default;
  // Embeddings of every row of `users` (known users' rows or new users' features): (n, E) on the device.
  torch::Tensor encode_users(const data::EncodedFeatures& users, int64_t batch_size) const;
  // Top-k per user of (B, E) embeddings; masked[b] (null for none) lists item rows (ascending) to leave out for
  // user b, labels[b] names user b in errors. Best first; equal scores by item row, so a user's list is the same
  // alone or in a block.
  std::vector<std::vector<ScoredItem>> top_k(const torch::Tensor& user_emb,
                                             const std::vector<const std::vector<int64_t>*>& masked, int64_t k,
                                             const std::vector<std::string>& labels) const;
  // Throws Error naming the given feature(s) behind a new user's non-finite embedding.
  [[noreturn]] void explain_non_finite(const FeatureValues& features) const;

  run::Run run_;
  run::InferenceData data_;  // users and items encoded with the run's encodings (CPU), seen items per user row
  torch::Tensor item_emb_;   // (n_items, E)
};

}  // namespace ftmamba::serve
