// defines: the recall report of an item index (see index_recall.h).
#include "ftmamba/serve/index_recall.h"

#include <algorithm>
#include <chrono>
#include <unordered_set>

#include "ftmamba/core/error.h"
#include "ftmamba/serve/item_index.h"

namespace ftmamba::serve {

std::vector<std::vector<int64_t>> exact_top_rows(const torch::Tensor& queries, const torch::Tensor& items, int64_t k) {
  const auto scores = torch::matmul(queries, items.t()).contiguous();  // (Q, I)
  const int64_t n_queries = scores.size(0), n_items = scores.size(1);
  const int64_t keep = std::min(k, n_items);
  std::vector<std::vector<int64_t>> out(n_queries);
  const float* all = scores.data_ptr<float>();
  for (int64_t q = 0; q < n_queries; ++q) {
    const float* row = all + q * n_items;
    std::vector<int64_t> order(n_items);
    for (int64_t i = 0; i < n_items; ++i) order[i] = i;
    std::partial_sort(order.begin(), order.begin() + keep, order.end(),
                      [row](int64_t a, int64_t b) { return row[a] > row[b] || (row[a] == row[b] && a < b); });
    order.resize(keep);
    out[q] = std::move(order);
  }
  return out;
}

RecallPoint measure_recall(const ItemSearch& search, const torch::Tensor& queries, int64_t k,
                           const std::vector<std::vector<int64_t>>& truth) {
  const int64_t n = queries.size(0);
  if (n < 1 || static_cast<int64_t>(truth.size()) != n) throw Error("a recall report needs queries and their truth");
  double found_share = 0, seconds = 0;
  for (int64_t q = 0; q < n; ++q) {
    const auto query = queries.slice(0, q, q + 1);  // (1, E)
    const auto start = std::chrono::steady_clock::now();
    const auto hits = search.search(query, k, {nullptr});
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::unordered_set<int64_t> exact(truth[q].begin(), truth[q].end());
    int64_t found = 0;
    for (const auto& hit : hits[0]) found += exact.count(hit.item_row);
    found_share += exact.empty() ? 1.0 : static_cast<double>(found) / static_cast<double>(exact.size());
  }
  RecallPoint p;
  p.recall = found_share / static_cast<double>(n);
  p.ms_per_query = 1000.0 * seconds / static_cast<double>(n);
  return p;
}

std::vector<int64_t> sweep_values(const IndexParams& params) {
  std::vector<int64_t> values;
  switch (params.type) {
    case IndexType::kFlat:
      return values;
    case IndexType::kHnsw:
      // Doubling, with the midpoints: the efSearch reaching a target recall costs time linearly, so a sweep of
      // powers of two alone could save up to twice the time needed.
      for (int64_t v = 16; v <= 512; v *= 2) {
        values.push_back(v);
        if (v < 512) values.push_back(v + v / 2);
      }
      break;
    case IndexType::kIvf:
    case IndexType::kIvfPq:
      for (int64_t v = 1; v < params.nlist; v *= 2) values.push_back(v);
      values.push_back(params.nlist);
      break;
  }
  values.push_back(params.search_value());
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  return values;
}

std::vector<RecallPoint> recall_sweep(ItemIndex& index, const torch::Tensor& queries, int64_t k,
                                      const std::vector<std::vector<int64_t>>& truth) {
  const int64_t chosen = index.params().search_value();
  std::vector<RecallPoint> out;
  for (int64_t value : sweep_values(index.params())) {
    index.set_search_value(value);
    auto p = measure_recall(index, queries, k, truth);
    p.index = enum_name(index.params().type);
    p.parameter = index.params().search_name();
    p.value = value;
    out.push_back(p);
  }
  index.set_search_value(chosen);
  return out;
}

nlohmann::json to_json(const RecallPoint& p) {
  nlohmann::json j = {{"index", p.index}, {"recall", p.recall}, {"ms_per_query", p.ms_per_query}};
  if (!p.parameter.empty()) j[p.parameter] = p.value;
  return j;
}

}  // namespace ftmamba::serve
