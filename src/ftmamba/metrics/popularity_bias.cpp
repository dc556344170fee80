#include "ftmamba/metrics/popularity_bias.h"

#include <algorithm>
#include <numeric>

#include "ftmamba/core/error.h"
#include "ftmamba/metrics/ranking.h"

namespace ftmamba::metrics {

PopularityBias popularity_bias(const torch::Tensor& top_k, const EvalTask& task,
                               const std::vector<int64_t>& train_item_counts) {
  const auto n_items = static_cast<int64_t>(train_item_counts.size());
  if (top_k.dim() != 2 || top_k.size(0) != task.size()) throw Error("popularity_bias: top_k must be (task users, k)");
  PopularityBias out;
  out.k = top_k.size(1);
  out.item_order.resize(n_items);
  std::iota(out.item_order.begin(), out.item_order.end(), 0);
  std::stable_sort(out.item_order.begin(), out.item_order.end(),
                   [&](int64_t a, int64_t b) { return train_item_counts[a] > train_item_counts[b]; });
  std::vector<int64_t> rank(n_items);
  for (int64_t r = 0; r < n_items; ++r) rank[out.item_order[r]] = r;

  out.predicted.assign(n_items, 0.0);
  out.actual.assign(n_items, 0.0);
  auto t = top_k.to(torch::kInt64).contiguous();
  const int64_t* p = t.data_ptr<int64_t>();
  for (int64_t i = 0; i < t.numel(); ++i) out.predicted[rank[p[i]]] += 1.0 / static_cast<double>(out.k);
  for (const auto& items : task.relevant)
    for (int64_t item : items) out.actual[rank[item]] += 1.0;
  return out;
}

}  // namespace ftmamba::metrics
