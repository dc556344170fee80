#include "ftmamba/metrics/ranking.h"

#include <algorithm>
#include <limits>
#include <random>
#include <unordered_set>

#include "ftmamba/core/error.h"
#include "ftmamba/metrics/metrics.h"

namespace ftmamba::metrics {

EvalTask make_eval_task(const data::Interactions& inter, const data::Split& split, Target target, int64_t max_users,
                        uint64_t seed) {
  const auto& held = target == Target::Test ? split.test : split.valid;
  std::vector<std::vector<int64_t>> relevant_of, exclude_of;
  int64_t n_users = 0;
  for (int64_t u : inter.user) n_users = std::max(n_users, u + 1);
  relevant_of.resize(n_users);
  exclude_of.resize(n_users);
  for (int64_t r : held) relevant_of[inter.user[r]].push_back(inter.item[r]);
  for (int64_t r : split.train) exclude_of[inter.user[r]].push_back(inter.item[r]);
  if (target == Target::Test)
    for (int64_t r : split.valid) exclude_of[inter.user[r]].push_back(inter.item[r]);

  std::vector<int64_t> users;
  for (int64_t u = 0; u < n_users; ++u)
    if (!relevant_of[u].empty()) users.push_back(u);
  if (max_users > 0 && static_cast<int64_t>(users.size()) > max_users) {
    std::mt19937_64 rng(seed);
    std::shuffle(users.begin(), users.end(), rng);
    users.resize(max_users);
    std::sort(users.begin(), users.end());
  }
  EvalTask task;
  task.users = users;
  for (int64_t u : users) {
    task.relevant.push_back(std::move(relevant_of[u]));
    task.exclude.push_back(std::move(exclude_of[u]));
  }
  return task;
}

namespace {
// Ranks rows [start, start+len) of the task: scores (len, n_items) with exclusions set to -inf, on the
// scorer's device (a GPU scorer keeps the whole batch there; only the top k come back).
torch::Tensor masked_scores(const ScoreFn& score, const EvalTask& task, int64_t start, int64_t len) {
  auto rows = torch::from_blob(const_cast<int64_t*>(task.users.data()) + start, {len}, torch::kInt64).clone();
  auto s = score(rows).to(torch::kFloat32).contiguous();  // (len, n_items)
  std::vector<int64_t> ex_row, ex_item;                   // (row, item) pairs to exclude
  for (int64_t i = 0; i < len; ++i)
    for (int64_t item : task.exclude[start + i]) ex_row.push_back(i), ex_item.push_back(item);
  if (!ex_row.empty()) {
    const auto on = torch::TensorOptions().dtype(torch::kInt64);
    s.index_put_({torch::tensor(ex_row, on).to(s.device()), torch::tensor(ex_item, on).to(s.device())},
                 -std::numeric_limits<float>::infinity());
  }
  return s;
}

// Indices of the k best items per row, sorted, on the CPU.
torch::Tensor top_items(const torch::Tensor& scores, int64_t k) {
  return std::get<1>(scores.topk(k, 1, /*largest=*/true, /*sorted=*/true)).to(torch::kCPU).contiguous();
}
}  // namespace

MetricsAccumulator rank_full_catalog(const ScoreFn& score, const EvalTask& task, int64_t n_items, int64_t batch_users,
                                     const std::vector<int64_t>& cutoffs) {
  MetricsAccumulator acc(cutoffs);
  const int64_t k = std::min<int64_t>(*std::max_element(cutoffs.begin(), cutoffs.end()), n_items);
  for (int64_t start = 0; start < task.size(); start += batch_users) {
    const int64_t len = std::min(batch_users, task.size() - start);
    auto s = masked_scores(score, task, start, len);
    if (s.size(1) != n_items) throw Error("ranking: scorer returned the wrong number of items");
    auto top = top_items(s, k);  // (len, k)
    const int64_t* t = top.data_ptr<int64_t>();
    for (int64_t i = 0; i < len; ++i) acc.add(t + i * k, k, task.relevant[start + i]);
  }
  return acc;
}

torch::Tensor top_k_full_catalog(const ScoreFn& score, const EvalTask& task, int64_t n_items, int64_t k,
                                 int64_t batch_users) {
  k = std::min(k, n_items);
  auto out = torch::empty({task.size(), k}, torch::kInt64);
  for (int64_t start = 0; start < task.size(); start += batch_users) {
    const int64_t len = std::min(batch_users, task.size() - start);
    auto s = masked_scores(score, task, start, len);
    if (s.size(1) != n_items) throw Error("ranking: scorer returned the wrong number of items");
    out.narrow(0, start, len).copy_(top_items(s, k));
  }
  return out;
}

torch::Tensor draw_sampled_negatives(const data::Interactions& inter, const EvalTask& task, int64_t n_items,
                                     int64_t n_negatives, uint64_t seed) {
  std::vector<std::unordered_set<int64_t>> seen(task.size());
  std::vector<int64_t> slot_of_user;
  for (int64_t i = 0; i < task.size(); ++i) {
    if (static_cast<int64_t>(slot_of_user.size()) <= task.users[i]) slot_of_user.resize(task.users[i] + 1, -1);
    slot_of_user[task.users[i]] = i;
  }
  for (int64_t r = 0; r < inter.size(); ++r) {
    const int64_t u = inter.user[r];
    if (u < static_cast<int64_t>(slot_of_user.size()) && slot_of_user[u] >= 0)
      seen[slot_of_user[u]].insert(inter.item[r]);
  }
  auto out = torch::empty({task.size(), n_negatives}, torch::kInt64);
  int64_t* o = out.data_ptr<int64_t>();
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> pick(0, n_items - 1);
  for (int64_t i = 0; i < task.size(); ++i) {
    if (n_items - static_cast<int64_t>(seen[i].size()) < n_negatives)
      throw Error("sampled evaluation: user has fewer than " + std::to_string(n_negatives) + " unseen items");
    std::unordered_set<int64_t> chosen;
    for (int64_t j = 0; j < n_negatives;) {
      const int64_t item = pick(rng);
      if (seen[i].count(item) || !chosen.insert(item).second) continue;
      o[i * n_negatives + j++] = item;
    }
  }
  return out;
}

MetricsAccumulator rank_sampled(const ScoreFn& score, const EvalTask& task, const torch::Tensor& negatives,
                                int64_t batch_users, const std::vector<int64_t>& cutoffs) {
  MetricsAccumulator acc(cutoffs);
  const int64_t n_neg = negatives.size(1);
  for (int64_t start = 0; start < task.size(); start += batch_users) {
    const int64_t len = std::min(batch_users, task.size() - start);
    auto rows = torch::from_blob(const_cast<int64_t*>(task.users.data()) + start, {len}, torch::kInt64).clone();
    auto s = score(rows).to(torch::kFloat32);  // (len, n_items), on the scorer's device
    std::vector<int64_t> pos(len);
    for (int64_t i = 0; i < len; ++i) pos[i] = task.relevant[start + i].front();
    auto cand = torch::cat({torch::tensor(pos).view({len, 1}), negatives.narrow(0, start, len).to(torch::kCPU)},
                           1);  // (len, 1+neg)
    auto cs = s.gather(1, cand.to(s.device()));
    const int64_t k = std::min<int64_t>(*std::max_element(cutoffs.begin(), cutoffs.end()), n_neg + 1);
    auto order = top_items(cs, k);
    auto ranked = cand.gather(1, order).contiguous();
    const int64_t* t = ranked.data_ptr<int64_t>();
    for (int64_t i = 0; i < len; ++i) acc.add(t + i * k, k, {pos[i]});
  }
  return acc;
}

ScoreFn dot_product_scorer(torch::Tensor user_emb, torch::Tensor item_emb) {
  return [user_emb, item_emb](const torch::Tensor& rows) {
    return torch::matmul(user_emb.index_select(0, rows.to(user_emb.device())), item_emb.t());
  };
}

ScoreFn popularity_scorer(const data::Interactions& inter, const std::vector<int64_t>& train_rows, int64_t n_items) {
  auto counts = torch::zeros({n_items}, torch::kFloat32);
  float* c = counts.data_ptr<float>();
  for (int64_t r : train_rows) c[inter.item[r]] += 1.0f;
  // Equal counts are ordered by item row, so the baseline does not depend on topk's tie handling.
  counts -= torch::arange(n_items, torch::kFloat32) / (2.0f * static_cast<float>(n_items));
  return [counts](const torch::Tensor& rows) { return counts.unsqueeze(0).expand({rows.size(0), counts.size(0)}); };
}

}  // namespace ftmamba::metrics
