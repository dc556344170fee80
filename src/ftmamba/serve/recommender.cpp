// defines: Recommender: loading, user encoding, masked top-k scoring, and the three ways to ask (known user, new
// user, many users).
#include "ftmamba/serve/recommender.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
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
  r.data_ = run::inference_data_for(r.run_, data_dir);
  r.item_emb_ = nn::encode_all(*r.run_.model->item_tower, r.data_.items, r.run_.config.eval.batch_size);  // (I, E)
  const auto finite = finite_rows(r.item_emb_);                                                           // (I)
  if (!finite.all().item<bool>()) {
    const int64_t row = finite.logical_not().nonzero()[0][0].item<int64_t>();
    throw Error(r.data_.items_source.string() + ": item '" + r.data_.item_ids[row] +
                "': the run's item tower gives it a non-finite embedding, so it cannot be scored");
  }
  return r;
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

std::vector<std::vector<ScoredItem>> Recommender::top_k(const torch::Tensor& user_emb,
                                                        const std::vector<const std::vector<int64_t>*>& masked,
                                                        int64_t k, const std::vector<std::string>& labels) const {
  const int64_t n_users = user_emb.size(0), n_items = item_emb_.size(0);
  const auto scores = torch::matmul(user_emb, item_emb_.t()).to(torch::kCPU).contiguous();  // (B, I)
  const float* all = scores.data_ptr<float>();
  // (score, item row) best first: the higher score, then the lower row, so ties never depend on the block.
  const auto better = [](const std::pair<float, int64_t>& a, const std::pair<float, int64_t>& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  std::vector<std::vector<std::pair<float, int64_t>>> best(n_users);
  std::vector<int64_t> non_finite(n_users, -1);  // per user: an unmasked item whose score is not finite
  // One pass per user over its row with a k-heap whose top is the worst kept; the masked rows (ascending) are
  // skipped by walking them alongside. Users are independent, so they are spread over the threads.
  at::parallel_for(0, n_users, 16, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const float* row = all + b * n_items;
      const std::vector<int64_t> none;
      const auto& skip = masked[b] != nullptr ? *masked[b] : none;
      const int64_t keep = std::min<int64_t>(k, n_items - static_cast<int64_t>(skip.size()));
      auto& heap = best[b];
      heap.reserve(std::max<int64_t>(keep, 0));
      size_t next_skip = 0;
      for (int64_t i = 0; i < n_items && keep > 0; ++i) {
        if (next_skip < skip.size() && skip[next_skip] == i) {
          ++next_skip;
          continue;
        }
        if (!std::isfinite(row[i])) {  // never ranked: the comparisons would not be an order
          non_finite[b] = i;
          break;
        }
        const std::pair<float, int64_t> cand{row[i], i};
        if (static_cast<int64_t>(heap.size()) < keep) {
          heap.push_back(cand);
          std::push_heap(heap.begin(), heap.end(), better);
        } else if (better(cand, heap.front())) {
          std::pop_heap(heap.begin(), heap.end(), better);
          heap.back() = cand;
          std::push_heap(heap.begin(), heap.end(), better);
        }
      }
      std::sort_heap(heap.begin(), heap.end(), better);  // best first
    }
  });
  std::vector<std::vector<ScoredItem>> out(n_users);
  for (int64_t b = 0; b < n_users; ++b) {
    if (non_finite[b] >= 0)
      throw Error("user '" + labels[b] + "': the score of item '" + data_.item_ids[non_finite[b]] + "' is not finite");
    out[b].reserve(best[b].size());
    for (size_t r = 0; r < best[b].size(); ++r) {
      const auto [score, item] = best[b][r];
      out[b].push_back({static_cast<int64_t>(r) + 1, data_.item_ids[item], item, score});
    }
  }
  return out;
}

Recommendations Recommender::recommend(const std::string& user_id, int64_t k, bool include_seen) const {
  check_k(k);
  const auto row = find_user(user_id);
  if (!row) throw Error("unknown user '" + user_id + "' (not in " + data_.users_source.string() + ")");
  const auto emb = encode_users(data_.users.index_select(torch::tensor({*row})), 1);  // (1, E)
  if (!finite_rows(emb).all().item<bool>())
    throw Error("user '" + user_id + "': the run's user tower gives a non-finite embedding, so nothing can be scored");
  auto top = top_k(emb, {include_seen ? nullptr : &data_.seen[*row]}, k, {user_id});
  return {user_id, false, std::move(top[0])};
}

Recommendations Recommender::recommend_new_user(const FeatureValues& features, int64_t k,
                                                const std::string& label) const {
  check_k(k);
  const auto table = data::feature_table_from_pairs(label, data_.user_schema, features);
  const auto emb = encode_users(run_.user_encoding.transform(table), 1);  // (1, E)
  if (!finite_rows(emb).all().item<bool>()) explain_non_finite(features);
  auto top = top_k(emb, {nullptr}, k, {label});
  return {label, true, std::move(top[0])};
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
    const auto emb =
        encode_users(data_.users.index_select(torch::tensor(rows)), run_.config.eval.batch_size);  // (B, E)
    const auto finite = finite_rows(emb);                                                          // (B)
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
    auto top = top_k(emb, masked, k, labels);
    recs.clear();
    for (size_t b = 0; b < rows.size(); ++b) recs.push_back({labels[b], false, std::move(top[b])});
    sink(recs);
  }
}

}  // namespace ftmamba::serve
