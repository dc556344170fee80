#include "ftmamba/metrics/metrics.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "ftmamba/core/error.h"

namespace ftmamba::metrics {

const char* const kMetricNames[5] = {"P", "R", "MRR", "HR", "NDCG"};

MetricsAccumulator::MetricsAccumulator(std::vector<int64_t> cutoffs)
    : cutoffs_(std::move(cutoffs)), sums_(cutoffs_.size() * kMetrics, 0.0) {}

void MetricsAccumulator::add(const int64_t* ranked, int64_t n_ranked, const std::vector<int64_t>& relevant_in) {
  const std::unordered_set<int64_t> relevant(relevant_in.begin(), relevant_in.end());
  if (relevant.empty()) throw Error("metrics: a user with no relevant items cannot be scored");
  const int64_t max_k = *std::max_element(cutoffs_.begin(), cutoffs_.end());
  const int64_t depth = std::min(n_ranked, max_k);
  // Prefix sums over ranks 1..depth, so each cutoff reads off its values.
  std::vector<int64_t> hits(depth + 1, 0);
  std::vector<double> dcg(depth + 1, 0.0), first_rr(depth + 1, 0.0);
  for (int64_t r = 1; r <= depth; ++r) {
    const bool hit = relevant.count(ranked[r - 1]) > 0;
    hits[r] = hits[r - 1] + hit;
    dcg[r] = dcg[r - 1] + (hit ? 1.0 / std::log2(r + 1.0) : 0.0);
    first_rr[r] = first_rr[r - 1] > 0 ? first_rr[r - 1] : (hit ? 1.0 / r : 0.0);
  }
  const int64_t n_rel = static_cast<int64_t>(relevant.size());
  for (size_t c = 0; c < cutoffs_.size(); ++c) {
    const int64_t k = cutoffs_[c], d = std::min(k, depth);
    double idcg = 0;
    for (int64_t r = 1; r <= std::min(k, n_rel); ++r) idcg += 1.0 / std::log2(r + 1.0);
    double* s = &sums_[c * kMetrics];
    s[0] += static_cast<double>(hits[d]) / k;
    s[1] += static_cast<double>(hits[d]) / n_rel;
    s[2] += first_rr[d];
    s[3] += hits[d] > 0 ? 1.0 : 0.0;
    s[4] += dcg[d] / idcg;
  }
  ++users_;
}

void MetricsAccumulator::merge(const MetricsAccumulator& other) {
  if (other.cutoffs_ != cutoffs_) throw Error("metrics: cannot merge different cutoffs");
  for (size_t i = 0; i < sums_.size(); ++i) sums_[i] += other.sums_[i];
  users_ += other.users_;
}

double MetricsAccumulator::mean(const std::string& metric, int64_t k) const {
  const auto c = std::find(cutoffs_.begin(), cutoffs_.end(), k);
  const auto m =
      std::find_if(std::begin(kMetricNames), std::end(kMetricNames), [&](const char* n) { return metric == n; });
  if (c == cutoffs_.end() || m == std::end(kMetricNames))
    throw Error("metrics: no " + metric + "@" + std::to_string(k));
  if (users_ == 0) return 0.0;
  return sums_[(c - cutoffs_.begin()) * kMetrics + (m - std::begin(kMetricNames))] / users_;
}

nlohmann::ordered_json MetricsAccumulator::to_json() const {
  nlohmann::ordered_json j;
  j["users"] = users_;
  for (int64_t k : cutoffs_)
    for (const char* m : kMetricNames) j[std::string(m) + "@" + std::to_string(k)] = mean(m, k);
  return j;
}

}  // namespace ftmamba::metrics
