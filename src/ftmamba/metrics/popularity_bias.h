// defines: PopularityBias, the data behind the paper's over/under-recommendation figure: per item, how
// often a model recommends it against how often it is actually the held-out item, items ranked by
// training popularity.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "ftmamba/metrics/ranking.h"

namespace ftmamba::metrics {

struct PopularityBias {
  int64_t k = 10;
  std::vector<int64_t> item_order;  // item rows, most popular in training first (ties: lower row first)
  std::vector<double> predicted;    // per ranked item: (test users whose top-k holds it) / k
  std::vector<double> actual;       // per ranked item: test users whose held-out item it is
};

// top_k: (n_task_users, k) int64 item rows from top_k_full_catalog for the same task.
// Both `predicted` and `actual` sum to the number of held-out items (k * users / k, one each per user).
PopularityBias popularity_bias(const torch::Tensor& top_k, const EvalTask& task,
                               const std::vector<int64_t>& train_item_counts);

}  // namespace ftmamba::metrics
