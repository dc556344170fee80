// defines: Recommender, a trained run ready to recommend: the run, its users and items (stored in the run, or
// from a dataset), every item encoded once and each user's seen items; top-k for a known user, a new user given
// by features (cold start), or many users, block by block; the items nearest an item; and a live catalog (items
// added, re-encoded or removed while it serves), searched through an ItemSearch.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ftmamba/core/error.h"
#include "ftmamba/data/preprocess.h"
#include "ftmamba/data/schema.h"
#include "ftmamba/run/inference_data.h"
#include "ftmamba/run/run.h"
#include "ftmamba/serve/feature_values.h"
#include "ftmamba/serve/growing_rows.h"
#include "ftmamba/serve/item_search.h"
#include "ftmamba/serve/recommendation.h"
#include "ftmamba/serve/user_tower_batcher.h"

namespace ftmamba::serve {

// An item of Recommender::upsert_items that cannot be encoded, by its index in the list.
struct BadItem : Error {
  BadItem(size_t index, const std::string& what) : Error(what), index(index) {}
  size_t index;
};

// A user of Recommender::recommend_many that cannot be served, by its index in the list; `field` is "user_id" (an
// unknown user) or "features" (a value the encoding refuses, a non-finite embedding).
struct BadUser : Error {
  BadUser(size_t index, std::string field, const std::string& what)
      : Error(what), index(index), field(std::move(field)) {}
  size_t index;
  std::string field;
};

// One user of recommend_many: a known user by id, or a new user by features (user_id is then its label), with
// what recommend / recommend_new_user take.
struct UserQuery {
  std::string user_id;
  bool has_features = false;
  FeatureValues features;
  int64_t k = 10;
  bool include_seen = false;  // a known user's seen items stay in
  std::vector<std::string> exclude;
};

// Whether load() encodes every known user up front (a server: a known user's request is then only a search) or
// each request encodes its users (a command answering once).
enum class UserEmbeddings { kOnDemand, kPrecomputed };

// Searches (recommend*, similar_items) may run from several threads at once; upsert_item, remove_item and
// set_item_search take a writer lock, so they wait for the searches in flight and the next ones wait for them.
class Recommender {
 public:
  // Loads the run onto `device`, its users and items (the dataset at data_dir when given; else the run's
  // inference.safetensors; else the dataset it was trained on: run::inference_data_for), and encodes every item.
  // Sets the CPU threads to the run's train.threads, as every command running a model does. Throws Error naming
  // the file for a bad run or dataset (or the missing one, and --data), and the item whose embedding is not finite.
  // The items are searched exactly (ExactItemSearch) until set_item_search.
  static Recommender load(const std::filesystem::path& run_dir, const std::filesystem::path& data_dir = {},
                          torch::Device device = torch::kCPU, UserEmbeddings users = UserEmbeddings::kOnDemand);

  // The k best items for a user of the dataset. Unless include_seen, the items the user interacted with (in any
  // split) are left out, so fewer than k come back when fewer remain; so are the live items named in `exclude`
  // (ids not in the catalog are ignored: there is nothing to leave out). Throws Error naming an unknown user.
  Recommendations recommend(const std::string& user_id, int64_t k, bool include_seen = false,
                            const std::vector<std::string>& exclude = {}) const;

  // Cold start: the k best items for a user who is not in the data, from the given features (the others missing).
  // Only `exclude` is masked. `label` becomes Recommendations::user. Throws Error naming an unknown feature, an
  // unparsable value, or the feature(s) that make the user's embedding non-finite.
  Recommendations recommend_new_user(const FeatureValues& features, int64_t k, const std::string& label = "",
                                     const std::vector<std::string>& exclude = {}) const;

  // recommend / recommend_new_user for many users at once: the new users in one forward of the user tower, and one
  // search of every user's embedding ((B, E) against the catalog: one matrix product for the exact search). The
  // lists are as each call alone would give them (an approximate index may differ within its recall). Throws
  // BadUser for the first user that cannot be served, nothing computed for the others.
  std::vector<Recommendations> recommend_many(const std::vector<UserQuery>& queries) const;

  // The most new users one forward of the user tower takes when recommend_new_user is called from several threads
  // at once (UserTowerBatcher); 1: each alone. Default kNewUserBatch. Not to be called while requests run.
  void set_new_user_batch(int64_t max_rows);
  static constexpr int64_t kNewUserBatch = 64;
  // Forwards of new users run so far, and the users they carried.
  int64_t new_user_forwards() const { return new_users_->forwards(); }
  int64_t new_user_rows() const { return new_users_->rows(); }

  // The k live items whose embeddings score highest against the embedding of item `item_id`, itself and `exclude`
  // left out. Throws Error for an id that is not a live item.
  std::vector<ScoredItem> similar_items(const std::string& item_id, int64_t k,
                                        const std::vector<std::string>& exclude = {}) const;

  // The live catalog. upsert_item encodes an item from its features (the run's item columns; the others missing)
  // with the run's item tower: a new id takes the next row, a live id keeps its row and gets the new embedding.
  // Returns whether the item is new. Throws Error (nothing changed) for an unknown feature, an unparsable value or
  // a non-finite embedding. remove_item returns whether the id was live; a removed item is never recommended, and
  // its row is not reused (a later upsert of the same id takes a new row).
  bool upsert_item(const std::string& item_id, const FeatureValues& features);
  // upsert_item for many: every item encoded first, then all applied under one lock, or none. Returns per item
  // whether it is new. Throws BadItem (its index; the message names the item) for the first that cannot be encoded.
  std::vector<bool> upsert_items(const std::vector<std::pair<std::string, FeatureValues>>& items);
  bool remove_item(const std::string& item_id);
  int64_t live_items() const;
  std::optional<int64_t> find_item(const std::string& item_id) const;    // a live item's row
  const data::TableSchema& item_schema() const { return item_schema_; }  // the features upsert_item takes

  // Replaces what answers the searches (an ANN index, say). It must hold the current catalog: every live row with
  // its embedding (item_embeddings()); Error otherwise.
  void set_item_search(std::shared_ptr<ItemSearch> search);
  std::string describe_search() const;  // ItemSearch::describe of the one in use

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
  const run::InferenceData& data() const { return data_; }  // users, items, seen items, as loaded
  // Every row's embedding, (rows, E) float32 on the device: the items loaded, then those upserted (removed rows
  // included). Not to be held across upsert_item.
  const torch::Tensor& item_embeddings() const { return item_emb_view_; }
  // The item id of a row (removed rows included; the rows of seen_items are rows of the catalog as loaded).
  const std::string& item_id(int64_t item_row) const { return item_ids_.at(static_cast<size_t>(item_row)); }

 private:
  Recommender() = default;
  // Embeddings of every row of `users` (known users' rows or new users' features): (n, E) on the device.
  torch::Tensor encode_users(const data::EncodedFeatures& users, int64_t batch_size) const;
  // The known users' embeddings, (n, E) on the device: kept from load, or encoded now. Not checked for finiteness.
  torch::Tensor known_user_embeddings(const std::vector<int64_t>& user_rows) const;
  // The known user's embedding, (1, E): kept from load, or encoded now. Throws Error when it is not finite.
  torch::Tensor known_user_embedding(int64_t user_row) const;
  // Top-k per user of (B, E) embeddings through the ItemSearch; masked[b] (null for none) lists item rows
  // (ascending) to leave out for user b, labels[b] names user b in errors. Best first; equal scores by item row, so
  // a user's list is the same alone or in a block. The caller holds the catalog lock (shared).
  std::vector<std::vector<ScoredItem>> top_k(const torch::Tensor& user_emb,
                                             const std::vector<const std::vector<int64_t>*>& masked, int64_t k,
                                             const std::vector<std::string>& labels) const;
  // `base` (ascending; null for none) with the rows of the live items of `exclude`: ascending, distinct.
  std::vector<int64_t> masked_rows(const std::vector<int64_t>* base, const std::vector<std::string>& exclude) const;
  // Throws Error naming the given feature(s) behind a new user's non-finite embedding.
  [[noreturn]] void explain_non_finite(const FeatureValues& features) const;

  run::Run run_;
  run::InferenceData data_;           // users and items encoded with the run's encodings (CPU), seen items per user row
  torch::Tensor user_emb_;            // (n_users, E) with UserEmbeddings::kPrecomputed, else undefined
  std::vector<uint8_t> user_finite_;  // per user row, with user_emb_: whether its embedding is finite
  data::TableSchema item_schema_;     // the item tower's feature columns
  std::unique_ptr<UserTowerBatcher> new_users_;  // cold-start forwards of concurrent requests, batched

  // The live catalog, guarded by catalog_mutex_ (a pointer, so that a Recommender moves).
  std::unique_ptr<std::shared_mutex> catalog_mutex_ = std::make_unique<std::shared_mutex>();
  GrowingRows item_emb_;                                 // (rows, E)
  torch::Tensor item_emb_view_;                          // item_emb_.view()
  std::vector<std::string> item_ids_;                    // per row, removed rows included
  std::unordered_map<std::string, int64_t> item_index_;  // live id -> row
  std::shared_ptr<ItemSearch> search_;
};

}  // namespace ftmamba::serve
