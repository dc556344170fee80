// defines: popularity_bins (see popularity_bins.h).
#include "ftmamba/experiments/popularity_bins.h"

#include <cmath>

namespace ftmamba::experiments {

std::vector<RankBin> popularity_bins(int64_t n_items, int64_t target_bins) {
  if (n_items <= 0 || target_bins <= 0) return {};
  std::vector<int64_t> edges;
  for (int64_t b = 0; b < target_bins; ++b) {
    // The small epsilon keeps exact powers (n^(1/2) for n = 100) from flooring one below.
    edges.push_back(static_cast<int64_t>(std::floor(
        std::pow(static_cast<double>(n_items), static_cast<double>(b) / static_cast<double>(target_bins)) + 1e-9)));
  }
  edges.push_back(n_items + 1);
  std::vector<RankBin> bins;
  for (size_t b = 0; b + 1 < edges.size(); ++b)
    if (edges[b + 1] > edges[b]) bins.push_back({edges[b], edges[b + 1] - 1});
  return bins;
}

}  // namespace ftmamba::experiments
