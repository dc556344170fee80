// defines: Recommender: loading, user encoding, masked top-k scoring, and the three ways to ask (known user, new
// user, many users).
#include "ftmamba/serve/recommender.h"

#include <algorithm>
#include <limits>

#include "ftmamba/core/error.h"
#include "ftmamba/core/threads.h"
#include "ftmamba/nn/two_tower.h"

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
                              torch::Device device) {
  Recommender r;
  r.run_ = run::Run::load(run_dir, device);
  set_cpu_threads(static_cast<int>(r.run_.config.train.threads));
  r.dataset_ = data::Dataset::load(data_dir.empty() ? r.run_.data_dir : data_dir);
  r.users_ = r.run_.user_encoding.transform(r.dataset_.users);
  const auto items = r.run_.item_encoding.transform(r.dataset_.items);
  r.item_emb_ = nn::encode_all(*r.run_.model->item_tower, items, r.run_.config.eval.batch_size);  // (I, E)
  const auto finite = finite_rows(r.item_emb_);                                                   // (I)
  if (!finite.all().item<bool>()) {
    const int64_t row = finite.logical_not().nonzero()[0][0].item<int64_t>();
    throw Error(r.dataset_.items_file.path.string() + ": item '" + r.dataset_.items.ids[row] +
                "': the run's item tower gives it a non-finite embedding, so it cannot be scored");
  }
  // Seen items: every interaction of the user, whatever its split, as recommending has always masked them.
  const auto& inter = r.dataset_.interactions;
  r.seen_.assign(r.dataset_.users.size(), {});
  for (int64_t i = 0; i < inter.size(); ++i) r.seen_[inter.user[i]].push_back(inter.item[i]);
  for (auto& s : r.seen_) {
    std::sort(s.begin(), s.end());
    s.erase(std::unique(s.begin(), s.end()), s.end());
  }
  return r;
}

std::optional<int64_t> Recommender::find_user(const std::string& user_id) const {
  const auto it = dataset_.users.index.find(user_id);
  if (it == dataset_.users.index.end()) return std::nullopt;
  return it->second;
}

const std::vector<int64_t>& Recommender::seen_items(int64_t user_row) const {
  if (user_row < 0 || user_row >= static_cast<int64_t>(seen_.size()))
    throw Error("user row " + std::to_string(user_row) + " is out of range (the data has " +
                std::to_string(seen_.size()) + " users)");
  return seen_[user_row];
}

torch::Tensor Recommender::encode_users(const data::EncodedFeatures& users, int64_t batch_size) const {
  return nn::encode_all(*run_.model->user_tower, users, batch_size);  // (n, E)
}

std::vector<std::vector<ScoredItem>> Recommender::top_k(const torch::Tensor& user_emb,
                                                        const std::vector<const std::vector<int64_t>*>& masked,
                                                        int64_t k, const std::vector<std::string>& labels) const {
  const int64_t n_items = item_emb_.size(0);
  auto scores = torch::matmul(user_emb, item_emb_.t()).to(torch::kCPU).contiguous();  // (B, I)
  std::vector<std::vector<ScoredItem>> out(user_emb.size(0));
  for (int64_t b = 0; b < user_emb.size(0); ++b) {
    auto row = scores[b];  // (I), a view
    int64_t n_masked = 0;
    if (masked[b] != nullptr) {
      float* s = row.data_ptr<float>();
      for (int64_t i : *masked[b]) s[i] = -std::numeric_limits<float>::infinity();
      n_masked = static_cast<int64_t>(masked[b]->size());
    }
    const auto [top_scores, top_items] = row.topk(std::min(k, n_items - n_masked));  // (k_b), (k_b)
    const float* ts = top_scores.data_ptr<float>();
    const int64_t* ti = top_items.data_ptr<int64_t>();
    for (int64_t r = 0; r < top_items.size(0); ++r) {
      const int64_t item = ti[r];
      const double score = ts[r];
      if (!std::isfinite(score))
        throw Error("user '" + labels[b] + "': the score of item '" + dataset_.items.ids[item] + "' is not finite");
      out[b].push_back({r + 1, dataset_.items.ids[item], item, score});
    }
  }
  return out;
}

Recommendations Recommender::recommend(const std::string& user_id, int64_t k, bool include_seen) const {
  check_k(k);
  const auto row = find_user(user_id);
  if (!row) throw Error("unknown user '" + user_id + "' (not in " + dataset_.users_file.path.string() + ")");
  const auto emb = encode_users(users_.index_select(torch::tensor({*row})), 1);  // (1, E)
  if (!finite_rows(emb).all().item<bool>())
    throw Error("user '" + user_id + "': the run's user tower gives a non-finite embedding, so nothing can be scored");
  auto top = top_k(emb, {include_seen ? nullptr : &seen_[*row]}, k, {user_id});
  return {user_id, false, std::move(top[0])};
}

Recommendations Recommender::recommend_new_user(const FeatureValues& features, int64_t k,
                                                const std::string& label) const {
  check_k(k);
  const auto table = data::feature_table_from_pairs(label, dataset_.schema.users, features);
  const auto emb = encode_users(run_.user_encoding.transform(table), 1);  // (1, E)
  if (!finite_rows(emb).all().item<bool>()) explain_non_finite(features);
  auto top = top_k(emb, {nullptr}, k, {label});
  return {label, true, std::move(top[0])};
}

void Recommender::explain_non_finite(const FeatureValues& features) const {
  // Each given feature alone, the others missing: the ones that break the embedding by themselves.
  FeatureValues culprits;
  for (const auto& f : features) {
    const auto alone = run_.user_encoding.transform(data::feature_table_from_pairs("", dataset_.schema.users, {f}));
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
  check_k(k);
  if (block < 1) throw Error("block must be at least 1, got " + std::to_string(block));
  for (int64_t row : user_rows) seen_items(row);  // range check, before any work
  std::vector<Recommendations> out;
  out.reserve(user_rows.size());
  const int64_t n = static_cast<int64_t>(user_rows.size());
  for (int64_t start = 0; start < n; start += block) {
    const std::vector<int64_t> rows(user_rows.begin() + start, user_rows.begin() + std::min(n, start + block));
    const auto emb = encode_users(users_.index_select(torch::tensor(rows)), run_.config.eval.batch_size);  // (B, E)
    const auto finite = finite_rows(emb);                                                                  // (B)
    const bool* ok = finite.data_ptr<bool>();
    std::vector<const std::vector<int64_t>*> masked;
    std::vector<std::string> labels;
    for (size_t b = 0; b < rows.size(); ++b) {
      labels.push_back(dataset_.users.ids[rows[b]]);
      if (!ok[b])
        throw Error("user '" + labels.back() +
                    "': the run's user tower gives a non-finite embedding, so nothing can be scored");
      masked.push_back(include_seen ? nullptr : &seen_[rows[b]]);
    }
    auto top = top_k(emb, masked, k, labels);
    for (size_t b = 0; b < rows.size(); ++b) out.push_back({labels[b], false, std::move(top[b])});
  }
  return out;
}

}  // namespace ftmamba::serve
