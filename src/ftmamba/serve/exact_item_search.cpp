// defines: ExactItemSearch: one matmul, then per query a k-heap over the live rows that are not excluded.
#include "ftmamba/serve/exact_item_search.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <utility>

namespace ftmamba::serve {

ExactItemSearch::ExactItemSearch(const torch::Tensor& embeddings)
    : embeddings_(embeddings.to(torch::kFloat32)),
      live_(static_cast<size_t>(embeddings.size(0)), 1),
      live_count_(embeddings.size(0)) {}

std::vector<std::vector<SearchHit>> ExactItemSearch::search(
    const torch::Tensor& queries, int64_t k, const std::vector<const std::vector<int64_t>*>& excluded) const {
  const int64_t n_queries = queries.size(0), n_rows = embeddings_.size();
  if (static_cast<int64_t>(excluded.size()) != n_queries)
    throw Error("item search: " + std::to_string(excluded.size()) + " exclusion lists for " +
                std::to_string(n_queries) + " queries");
  const auto catalog = embeddings_.view();
  const auto scores =
      torch::matmul(queries.to(catalog.device()), catalog.t()).to(torch::kCPU).contiguous();  // (B, rows)
  const float* all = scores.data_ptr<float>();
  // (score, row) best first: the higher score, then the lower row, so ties never depend on the other queries.
  const auto better = [](const std::pair<float, int64_t>& a, const std::pair<float, int64_t>& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  std::vector<std::vector<std::pair<float, int64_t>>> best(n_queries);
  std::vector<int64_t> non_finite(n_queries, -1);  // per query: a rankable row whose score is not finite
  // One pass per query over its row with a k-heap whose top is the worst kept; the excluded rows (ascending) are
  // skipped by walking them alongside. Queries are independent, so they are spread over the threads.
  at::parallel_for(0, n_queries, 16, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const float* row = all + b * n_rows;
      const std::vector<int64_t> none;
      const auto& skip = excluded[b] != nullptr ? *excluded[b] : none;
      auto& heap = best[b];
      heap.reserve(static_cast<size_t>(std::clamp<int64_t>(k, 0, n_rows)));
      size_t next_skip = 0;
      for (int64_t i = 0; i < n_rows && k > 0; ++i) {
        while (next_skip < skip.size() && skip[next_skip] < i) ++next_skip;
        if (next_skip < skip.size() && skip[next_skip] == i) continue;
        if (!live_[i]) continue;
        if (!std::isfinite(row[i])) {  // never ranked: the comparisons would not be an order
          non_finite[b] = i;
          break;
        }
        const std::pair<float, int64_t> cand{row[i], i};
        if (static_cast<int64_t>(heap.size()) < k) {
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
  std::vector<std::vector<SearchHit>> out(n_queries);
  for (int64_t b = 0; b < n_queries; ++b) {
    if (non_finite[b] >= 0) throw NonFiniteScore(b, non_finite[b]);
    out[b].reserve(best[b].size());
    for (const auto& [score, row] : best[b]) out[b].push_back({row, score});
  }
  return out;
}

void ExactItemSearch::upsert(int64_t item_row, const torch::Tensor& embedding) {
  if (embedding.dim() != 1 || embedding.size(0) != embeddings_.dim())
    throw Error("item search: an embedding of " + std::to_string(embedding.numel()) + " values for a catalog of " +
                std::to_string(embeddings_.dim()) + "-dimensional items");
  const auto value = embedding.to(torch::kFloat32);
  const int64_t rows = embeddings_.size();
  if (item_row == rows) {
    embeddings_.append(value);
    live_.push_back(1);
    ++live_count_;
  } else if (item_row >= 0 && item_row < rows && live_[item_row]) {
    embeddings_.set(item_row, value);
  } else {
    throw Error("item search: row " + std::to_string(item_row) + " is neither live nor the next one (" +
                std::to_string(rows) + ")");
  }
}

void ExactItemSearch::remove(int64_t item_row) {
  if (item_row < 0 || item_row >= embeddings_.size() || !live_[item_row]) return;
  live_[item_row] = 0;
  --live_count_;
}

}  // namespace ftmamba::serve
