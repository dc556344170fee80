// defines: Recommender: loading, user encoding, masked top-k through the ItemSearch, the three ways to ask (known
// user, new user, many users), similar items, and the live catalog.
#include "ftmamba/serve/recommender.h"

#include <algorithm>
#include <mutex>

#include "ftmamba/core/error.h"
#include "ftmamba/core/threads.h"
#include "ftmamba/nn/two_tower.h"
#include "ftmamba/serve/exact_item_search.h"

namespace ftmamba::serve {
namespace {

void check_k(int64_t k) {
  if (k < 1) throw Error("k must be at least 1, got " + std::to_string(k));
}

// (n) bool on the CPU: whether each row of a (n, E) embedding is finite.
torch::Tensor finite_rows(const torch::Tensor& emb) { return torch::isfinite(emb).all(1).to(torch::kCPU); }

std::string quoted_pairs(const FeatureValues& features) {
  std::string out;
  for (const auto& [name, value] : features) out += (out.empty() ? "" : ", ") + ("'" + name + "' = '" + value + "'");
  return out;
}

}  // namespace

Recommender Recommender::load(const std::filesystem::path& run_dir, const std::filesystem::path& data_dir,
                              torch::Device device, UserEmbeddings users) {
  Recommender r;
  r.run_ = run::Run::load(run_dir, device);
  // Inference only, and from several threads at once: encode_all then never switches the mode under another.
  r.run_.model->eval();
  set_cpu_threads(static_cast<int>(r.run_.config.train.threads));
  r.data_ = run::inference_data_for(r.run_, data_dir);
  const auto item_emb =
      nn::encode_all(*r.run_.model->item_tower, r.data_.items, r.run_.config.eval.batch_size);  // (I, E)
  const auto finite = finite_rows(item_emb);                                                    // (I)
  if (!finite.all().item<bool>()) {
    const int64_t row = finite.logical_not().nonzero()[0][0].item<int64_t>();
    throw Error(r.data_.items_source.string() + ": item '" + r.data_.item_ids[row] +
                "': the run's item tower gives it a non-finite embedding, so it cannot be scored");
  }
  if (users == UserEmbeddings::kPrecomputed) {
    r.user_emb_ = r.encode_users(r.data_.users, r.run_.config.eval.batch_size);  // (U, E)
    const auto ok = finite_rows(r.user_emb_);                                    // (U)
    const bool* p = ok.data_ptr<bool>();
    r.user_finite_.assign(p, p + ok.numel());
  }
  const auto& enc = r.run_.item_encoding;
  r.item_schema_.id = "item_id";
  r.item_schema_.numerical = enc.numerical_names;
  r.item_schema_.categorical = enc.categorical_names;
  r.item_schema_.multi_valued = enc.multi_valued_names;
  r.item_schema_.separator = enc.separator;
  r.item_emb_ = GrowingRows(item_emb);
  r.item_emb_view_ = r.item_emb_.view();
  r.item_ids_ = r.data_.item_ids;
  for (int64_t i = 0; i < r.data_.n_items(); ++i) r.item_index_.emplace(r.item_ids_[i], i);
  r.search_ = std::make_shared<ExactItemSearch>(item_emb);
  r.set_new_user_batch(kNewUserBatch);
  return r;
}

void Recommender::set_new_user_batch(int64_t max_rows) {
  // The model holder, not `this`: a Recommender moves.
  auto model = run_.model;
  new_users_ = std::make_unique<UserTowerBatcher>(
      [model](const data::EncodedFeatures& users) { return nn::encode_all(*model->user_tower, users, users.size()); },
      max_rows);
}

std::optional<int64_t> Recommender::find_user(const std::string& user_id) const {
  const auto it = data_.user_index.find(user_id);
  if (it == data_.user_index.end()) return std::nullopt;
  return it->second;
}

const std::vector<int64_t>& Recommender::seen_items(int64_t user_row) const {
  if (user_row < 0 || user_row >= data_.n_users())
    throw Error("user row " + std::to_string(user_row) + " is out of range (the data has " +
                std::to_string(data_.n_users()) + " users)");
  return data_.seen[user_row];
}

torch::Tensor Recommender::user_embeddings(const std::vector<int64_t>& user_rows) const {
  for (int64_t row : user_rows) seen_items(row);  // range check
  return encode_users(data_.users.index_select(torch::tensor(user_rows, torch::kInt64)), run_.config.eval.batch_size);
}

torch::Tensor Recommender::encode_users(const data::EncodedFeatures& users, int64_t batch_size) const {
  return nn::encode_all(*run_.model->user_tower, users, batch_size);  // (n, E)
}

torch::Tensor Recommender::known_user_embeddings(const std::vector<int64_t>& user_rows) const {
  const auto index = torch::tensor(user_rows, torch::kInt64);
  return user_emb_.defined() ? user_emb_.index_select(0, index.to(user_emb_.device()))
                             : encode_users(data_.users.index_select(index), run_.config.eval.batch_size);
}

torch::Tensor Recommender::known_user_embedding(int64_t user_row) const {
  torch::Tensor emb;  // (1, E)
  bool finite = false;
  if (user_emb_.defined()) {
    emb = user_emb_.narrow(0, user_row, 1);
    finite = user_finite_[user_row] != 0;
  } else {
    emb = encode_users(data_.users.index_select(torch::tensor({user_row})), 1);
    finite = finite_rows(emb).all().item<bool>();
  }
  if (!finite)
    throw Error("user '" + data_.user_ids[user_row] +
                "': the run's user tower gives a non-finite embedding, so nothing can be scored");
  return emb;
}

std::vector<std::vector<ScoredItem>> Recommender::top_k(const torch::Tensor& user_emb,
                                                        const std::vector<const std::vector<int64_t>*>& masked,
                                                        int64_t k, const std::vector<std::string>& labels) const {
  std::vector<std::vector<SearchHit>> hits;
  try {
    hits = search_->search(user_emb.to(torch::kCPU), k, masked);
  } catch (const NonFiniteScore& e) {
    throw Error("user '" + labels[e.query] + "': the score of item '" + item_ids_[e.item_row] + "' is not finite");
  }
  std::vector<std::vector<ScoredItem>> out(hits.size());
  for (size_t b = 0; b < hits.size(); ++b) {
    out[b].reserve(hits[b].size());
    for (size_t r = 0; r < hits[b].size(); ++r) {
      const auto& h = hits[b][r];
      out[b].push_back({static_cast<int64_t>(r) + 1, item_ids_[h.item_row], h.item_row, h.score});
    }
  }
  return out;
}

std::vector<int64_t> Recommender::masked_rows(const std::vector<int64_t>* base,
                                              const std::vector<std::string>& exclude) const {
  std::vector<int64_t> rows = base != nullptr ? *base : std::vector<int64_t>{};
  if (exclude.empty()) return rows;
  for (const auto& id : exclude)
    if (const auto it = item_index_.find(id); it != item_index_.end()) rows.push_back(it->second);
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  return rows;
}

Recommendations Recommender::recommend(const std::string& user_id, int64_t k, bool include_seen,
                                       const std::vector<std::string>& exclude) const {
  check_k(k);
  const auto row = find_user(user_id);
  if (!row) throw Error("unknown user '" + user_id + "' (not in " + data_.users_source.string() + ")");
  const auto emb = known_user_embedding(*row);  // (1, E)
  std::shared_lock lock(*catalog_mutex_);
  const auto masked = masked_rows(include_seen ? nullptr : &data_.seen[*row], exclude);
  auto top = top_k(emb, {&masked}, k, {user_id});
  return {user_id, false, std::move(top[0])};
}

Recommendations Recommender::recommend_new_user(const FeatureValues& features, int64_t k, const std::string& label,
                                                const std::vector<std::string>& exclude) const {
  check_k(k);
  const auto table = data::feature_table_from_pairs(label, data_.user_schema, features);
  const auto emb = new_users_->embed(run_.user_encoding.transform(table));  // (1, E)
  if (!finite_rows(emb).all().item<bool>()) explain_non_finite(features);
  std::shared_lock lock(*catalog_mutex_);
  const auto masked = masked_rows(nullptr, exclude);
  auto top = top_k(emb, {&masked}, k, {label});
  return {label, true, std::move(top[0])};
}

std::vector<Recommendations> Recommender::recommend_many(const std::vector<UserQuery>& queries) const {
  const size_t n = queries.size();
  if (n == 0) return {};
  int64_t k_most = 1;
  std::vector<data::EncodedFeatures> new_users;  // one row each
  std::vector<size_t> new_at;                    // their places in `queries`
  std::vector<int64_t> known_rows;               // user rows
  std::vector<size_t> known_at;
  std::vector<int64_t> row_of(n, -1);  // queries[i]'s user row, for a known user
  for (size_t i = 0; i < n; ++i) {
    const auto& q = queries[i];
    try {
      check_k(q.k);
    } catch (const Error& e) {
      throw BadUser(i, "k", e.what());
    }
    k_most = std::max(k_most, q.k);
    if (q.has_features) {
      try {
        new_users.push_back(
            run_.user_encoding.transform(data::feature_table_from_pairs(q.user_id, data_.user_schema, q.features)));
      } catch (const Error& e) {
        throw BadUser(i, "features", e.what());
      }
      new_at.push_back(i);
    } else {
      const auto row = find_user(q.user_id);
      if (!row)
        throw BadUser(i, "user_id", "unknown user '" + q.user_id + "' (not in " + data_.users_source.string() + ")");
      known_rows.push_back(*row);
      known_at.push_back(i);
      row_of[i] = *row;
    }
  }
  // (n, E) on the CPU, row i for queries[i].
  std::vector<torch::Tensor> rows(n);
  if (!known_rows.empty()) {
    const auto emb = known_user_embeddings(known_rows).to(torch::kCPU);  // (known, E)
    for (size_t j = 0; j < known_at.size(); ++j) rows[known_at[j]] = emb[static_cast<int64_t>(j)];
  }
  if (!new_users.empty()) {
    const auto emb = encode_users(data::EncodedFeatures::cat(new_users), run_.config.eval.batch_size).to(torch::kCPU);
    for (size_t j = 0; j < new_at.size(); ++j) rows[new_at[j]] = emb[static_cast<int64_t>(j)];
  }
  const auto emb = torch::stack(rows);  // (n, E)
  const auto finite = finite_rows(emb);
  const bool* ok = finite.data_ptr<bool>();
  std::vector<std::string> labels(n);
  for (size_t i = 0; i < n; ++i) {
    labels[i] = queries[i].user_id;
    if (ok[i]) continue;
    if (!queries[i].has_features)
      throw BadUser(i, "user_id",
                    "user '" + labels[i] +
                        "': the run's user tower gives a non-finite embedding, so nothing can be "
                        "scored");
    try {
      explain_non_finite(queries[i].features);
    } catch (const Error& e) {
      throw BadUser(i, "features", e.what());
    }
  }
  std::vector<std::vector<ScoredItem>> top;
  {
    std::shared_lock lock(*catalog_mutex_);
    std::vector<std::vector<int64_t>> masks(n);
    std::vector<const std::vector<int64_t>*> masked(n);
    for (size_t i = 0; i < n; ++i) {
      const auto& q = queries[i];
      const bool keep_seen = q.has_features || q.include_seen;
      masks[i] = masked_rows(keep_seen ? nullptr : &data_.seen[row_of[i]], q.exclude);
      masked[i] = &masks[i];
    }
    top = top_k(emb, masked, k_most, labels);
  }
  std::vector<Recommendations> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    // Best first with ties by row, so the first k of the longest list are the list of k.
    if (static_cast<int64_t>(top[i].size()) > queries[i].k) top[i].resize(static_cast<size_t>(queries[i].k));
    out.push_back({labels[i], queries[i].has_features, std::move(top[i])});
  }
  return out;
}

std::vector<ScoredItem> Recommender::similar_items(const std::string& item_id, int64_t k,
                                                   const std::vector<std::string>& exclude) const {
  check_k(k);
  std::shared_lock lock(*catalog_mutex_);
  const auto it = item_index_.find(item_id);
  if (it == item_index_.end()) throw Error("unknown item '" + item_id + "' (not in the catalog)");
  const std::vector<int64_t> self{it->second};
  const auto masked = masked_rows(&self, exclude);
  const auto query = item_emb_view_.narrow(0, it->second, 1);  // (1, E)
  auto top = top_k(query, {&masked}, k, {"item " + item_id});
  return std::move(top[0]);
}

bool Recommender::upsert_item(const std::string& item_id, const FeatureValues& features) {
  return upsert_items({{item_id, features}})[0];
}

std::vector<bool> Recommender::upsert_items(const std::vector<std::pair<std::string, FeatureValues>>& items) {
  // Encoded before the lock, so that the searches in flight go on meanwhile; one at a time, so that an error names
  // its item.
  std::vector<torch::Tensor> embeddings;  // (E) each
  for (size_t i = 0; i < items.size(); ++i) {
    const auto& [id, features] = items[i];
    try {
      if (id.empty()) throw Error("an item id must not be empty");
      const auto table = data::feature_table_from_pairs(id, item_schema_, features);
      const auto emb = nn::encode_all(*run_.model->item_tower, run_.item_encoding.transform(table), 1);  // (1, E)
      if (!finite_rows(emb).all().item<bool>())
        throw Error("the run's item tower gives it a non-finite embedding (features " + quoted_pairs(features) +
                    "), so it cannot be scored");
      embeddings.push_back(emb[0].to(torch::kFloat32));
    } catch (const Error& e) {
      throw BadItem(i, "item '" + id + "': " + e.what());
    }
  }
  std::vector<bool> created;
  std::unique_lock lock(*catalog_mutex_);
  for (size_t i = 0; i < items.size(); ++i) {
    const auto& id = items[i].first;
    const auto& emb = embeddings[i];
    if (const auto it = item_index_.find(id); it != item_index_.end()) {
      search_->upsert(it->second, emb.to(torch::kCPU));
      item_emb_.set(it->second, emb);
      created.push_back(false);
      continue;
    }
    const int64_t row = item_emb_.size();
    search_->upsert(row, emb.to(torch::kCPU));
    item_emb_.append(emb);
    item_ids_.push_back(id);
    item_index_.emplace(id, row);
    created.push_back(true);
  }
  item_emb_view_ = item_emb_.view();
  return created;
}

bool Recommender::remove_item(const std::string& item_id) {
  std::unique_lock lock(*catalog_mutex_);
  const auto it = item_index_.find(item_id);
  if (it == item_index_.end()) return false;
  search_->remove(it->second);
  item_index_.erase(it);
  return true;
}

int64_t Recommender::live_items() const {
  std::shared_lock lock(*catalog_mutex_);
  return static_cast<int64_t>(item_index_.size());
}

std::optional<int64_t> Recommender::find_item(const std::string& item_id) const {
  std::shared_lock lock(*catalog_mutex_);
  const auto it = item_index_.find(item_id);
  if (it == item_index_.end()) return std::nullopt;
  return it->second;
}

void Recommender::set_item_search(std::shared_ptr<ItemSearch> search) {
  if (!search) throw Error("set_item_search: no item search given");
  std::unique_lock lock(*catalog_mutex_);
  if (search->live_items() != static_cast<int64_t>(item_index_.size()))
    throw Error("set_item_search: the search holds " + std::to_string(search->live_items()) + " items, the catalog " +
                std::to_string(item_index_.size()));
  search_ = std::move(search);
}

std::string Recommender::describe_search() const {
  std::shared_lock lock(*catalog_mutex_);
  return search_->describe();
}

void Recommender::explain_non_finite(const FeatureValues& features) const {
  // Each given feature alone, the others missing: the ones that break the embedding by themselves.
  FeatureValues culprits;
  for (const auto& f : features) {
    const auto alone = run_.user_encoding.transform(data::feature_table_from_pairs("", data_.user_schema, {f}));
    if (!finite_rows(encode_users(alone, 1)).all().item<bool>()) culprits.push_back(f);
  }
  const std::string what = "; no scores were computed (is a value far outside the training data?)";
  if (features.empty()) throw Error("a new user with every feature missing gets a non-finite embedding" + what);
  if (culprits.empty())
    throw Error("the features " + quoted_pairs(features) + " together give the new user a non-finite embedding" + what);
  throw Error(std::string(culprits.size() == 1 ? "feature " : "features ") + quoted_pairs(culprits) +
              (culprits.size() == 1 ? " gives" : " give") + " the new user a non-finite embedding" + what);
}

std::vector<Recommendations> Recommender::recommend_batch(const std::vector<int64_t>& user_rows, int64_t k,
                                                          bool include_seen, int64_t block) const {
  std::vector<Recommendations> out;
  out.reserve(user_rows.size());
  recommend_blocks(user_rows, k, include_seen, block, [&](std::vector<Recommendations>& recs) {
    for (auto& r : recs) out.push_back(std::move(r));
  });
  return out;
}

void Recommender::recommend_blocks(const std::vector<int64_t>& user_rows, int64_t k, bool include_seen, int64_t block,
                                   const BlockSink& sink) const {
  check_k(k);
  if (block < 1) throw Error("block must be at least 1, got " + std::to_string(block));
  for (int64_t row : user_rows) seen_items(row);  // range check, before any work
  const int64_t n = static_cast<int64_t>(user_rows.size());
  std::vector<Recommendations> recs;
  for (int64_t start = 0; start < n; start += block) {
    const std::vector<int64_t> rows(user_rows.begin() + start, user_rows.begin() + std::min(n, start + block));
    const auto emb = known_user_embeddings(rows);  // (B, E)
    const auto finite = finite_rows(emb);          // (B)
    const bool* ok = finite.data_ptr<bool>();
    std::vector<const std::vector<int64_t>*> masked;
    std::vector<std::string> labels;
    for (size_t b = 0; b < rows.size(); ++b) {
      labels.push_back(data_.user_ids[rows[b]]);
      if (!ok[b])
        throw Error("user '" + labels.back() +
                    "': the run's user tower gives a non-finite embedding, so nothing can be scored");
      masked.push_back(include_seen ? nullptr : &data_.seen[rows[b]]);
    }
    std::vector<std::vector<ScoredItem>> top;
    {
      std::shared_lock lock(*catalog_mutex_);
      top = top_k(emb, masked, k, labels);
    }
    recs.clear();
    for (size_t b = 0; b < rows.size(); ++b) recs.push_back({labels[b], false, std::move(top[b])});
    sink(recs);
  }
}

}  // namespace ftmamba::serve
