// defines: popularity_bins, the grouping of items ranked by popularity into log-spaced rank bins that the
// comparison report's over/under-recommendation figure (the paper's Figure 5) sums over.
#pragma once
#include <cstdint>
#include <vector>

namespace ftmamba::experiments {

// Items ranked 1..n by popularity are grouped by log-spaced rank edges e_b = floor(n^(b/B)) for b = 0..B-1 and
// e_B = n + 1; bin b holds ranks [e_b, e_{b+1} − 1], and empty bins (equal edges) are dropped, so the head items
// get one bin each and there are at most B bins.
inline constexpr int64_t kPopularityBins = 40;
struct RankBin {
  int64_t first_rank, last_rank;  // 1-based, inclusive
};
std::vector<RankBin> popularity_bins(int64_t n_items, int64_t target_bins = kPopularityBins);

}  // namespace ftmamba::experiments
