// defines: the recall report of an item index: the exact top-k of each query (every item scored), and an
// index's recall@k against it with the mean latency of one query, over a sweep of its search parameter
// (efSearch for hnsw, nprobe for ivf and ivfpq).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ftmamba/serve/index_params.h"
#include "ftmamba/serve/item_search.h"

namespace ftmamba::serve {

class ItemIndex;

struct RecallPoint {
  std::string index;        // "flat", "hnsw", ...
  std::string parameter;    // "efSearch", "nprobe", or "" (flat)
  int64_t value = 0;        // the parameter's value (0 for flat)
  double recall = 0;        // mean over queries of |found ∩ exact top-k| / |exact top-k|
  double ms_per_query = 0;  // mean wall time of one query searched alone
};

// The exact top-k item rows of each query ((Q, E) against (I, E) embeddings, float32 on the CPU): best first,
// equal scores by the lower row, as Recommender ranks.
std::vector<std::vector<int64_t>> exact_top_rows(const torch::Tensor& queries, const torch::Tensor& items, int64_t k);

// Searches each query alone (as a server answers one request) and compares with `truth`.
RecallPoint measure_recall(const ItemSearch& search, const torch::Tensor& queries, int64_t k,
                           const std::vector<std::vector<int64_t>>& truth);

// The values a sweep tries: efSearch 16..512 (doubling, and 1.5 times each) and the index's own; nprobe 1..nlist
// (doubling) and the index's own. Ascending; empty for flat.
std::vector<int64_t> sweep_values(const IndexParams& params);

// Measures `index` at each of sweep_values (leaving its search value as it was).
std::vector<RecallPoint> recall_sweep(ItemIndex& index, const torch::Tensor& queries, int64_t k,
                                      const std::vector<std::vector<int64_t>>& truth);

nlohmann::json to_json(const RecallPoint& point);

}  // namespace ftmamba::serve
