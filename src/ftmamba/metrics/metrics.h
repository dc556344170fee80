// defines: MetricsAccumulator, top-k ranking metrics averaged over users: Precision, Recall, MRR,
// HitRate and NDCG at each cutoff k (binary relevance).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ftmamba::metrics {

inline const std::vector<int64_t> kDefaultCutoffs = {1, 5, 10, 20};

class MetricsAccumulator {
 public:
  explicit MetricsAccumulator(std::vector<int64_t> cutoffs = kDefaultCutoffs);

  // ranked: item ids, best first (at least max cutoff long unless the catalog is smaller).
  // relevant: the user's held-out items (non-empty; duplicates ignored).
  //   P@k = hits/k, R@k = hits/|relevant|, HR@k = [hits > 0], MRR@k = 1/rank of the first hit (0 if none),
  //   NDCG@k = sum_{hit at rank r} 1/log2(r+1) / sum_{r <= min(k, |relevant|)} 1/log2(r+1).
  void add(const int64_t* ranked, int64_t n_ranked, const std::vector<int64_t>& relevant);
  void add(const std::vector<int64_t>& ranked, const std::vector<int64_t>& relevant) {
    add(ranked.data(), static_cast<int64_t>(ranked.size()), relevant);
  }
  void merge(const MetricsAccumulator& other);

  int64_t users() const { return users_; }
  double mean(const std::string& metric, int64_t k) const;  // metric: P, R, MRR, HR, NDCG
  // {"users": n, "P@1": .., "R@1": .., "MRR@1": .., "HR@1": .., "NDCG@1": .., "P@5": ...}
  nlohmann::ordered_json to_json() const;
  const std::vector<int64_t>& cutoffs() const { return cutoffs_; }

 private:
  static constexpr int kMetrics = 5;
  std::vector<int64_t> cutoffs_;
  std::vector<double> sums_;  // (n_cutoffs, kMetrics)
  int64_t users_ = 0;
};

extern const char* const kMetricNames[5];  // "P", "R", "MRR", "HR", "NDCG"

}  // namespace ftmamba::metrics
