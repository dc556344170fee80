// defines: EvalTask (who is evaluated on which held-out items, with which seen items masked) and the two
// ranking protocols: full-catalog ranking and sampled ranking (1 positive vs stored negatives).
#pragma once
#include <torch/torch.h>

#include <functional>
#include <vector>

#include "ftmamba/data/dataset.h"
#include "ftmamba/data/split.h"
#include "ftmamba/metrics/metrics.h"

namespace ftmamba::metrics {

struct EvalTask {
  std::vector<int64_t> users;                  // user rows, ascending
  std::vector<std::vector<int64_t>> relevant;  // held-out item rows, per user
  std::vector<std::vector<int64_t>> exclude;   // seen item rows that are masked from the ranking, per user
  int64_t size() const { return static_cast<int64_t>(users.size()); }
};

enum class Target { Valid, Test };

// Users with at least one interaction in the target split. Validation masks the user's training items;
// test masks training and validation items. max_users > 0 keeps a seeded random subset (sorted).
EvalTask make_eval_task(const data::Interactions& inter, const data::Split& split, Target target, int64_t max_users = 0,
                        uint64_t seed = 0);

// Scores of the given users against every item: (n) int64 user rows -> (n, n_items) float.
using ScoreFn = std::function<torch::Tensor(const torch::Tensor& user_rows)>;

// Ranks the whole catalog for each user, masked items removed, and accumulates the metrics.
MetricsAccumulator rank_full_catalog(const ScoreFn& score, const EvalTask& task, int64_t n_items,
                                     int64_t batch_users = 1024, const std::vector<int64_t>& cutoffs = kDefaultCutoffs);

// The k best items per task user over the whole catalog, masked items removed: (n_users, k) int64 rows,
// best first. The same ranking rank_full_catalog scores.
torch::Tensor top_k_full_catalog(const ScoreFn& score, const EvalTask& task, int64_t n_items, int64_t k,
                                 int64_t batch_users = 1024);

// Draws, per task user, n_negatives distinct items the user never interacted with (in any split).
// Deterministic for the seed. Returns (n_users, n_negatives) int64.
torch::Tensor draw_sampled_negatives(const data::Interactions& inter, const EvalTask& task, int64_t n_items,
                                     int64_t n_negatives, uint64_t seed);

// Sampled protocol: for each user, the first relevant item is ranked against that user's negatives.
MetricsAccumulator rank_sampled(const ScoreFn& score, const EvalTask& task, const torch::Tensor& negatives,
                                int64_t batch_users = 1024, const std::vector<int64_t>& cutoffs = kDefaultCutoffs);

// Score functions for the two reference rankers.
ScoreFn dot_product_scorer(torch::Tensor user_emb, torch::Tensor item_emb);  // (U, E), (I, E)
ScoreFn popularity_scorer(const data::Interactions& inter, const std::vector<int64_t>& train_rows, int64_t n_items);

}  // namespace ftmamba::metrics
