// defines: ServingMetrics, what the HTTP server counts (requests by endpoint and status, errors, a latency
// histogram per endpoint, reloads) and reports (catalog size, model and index version), written in the Prometheus
// text format for GET /metrics.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace ftmamba::serve {

class ServingMetrics {
 public:
  // The upper bounds of the latency buckets, seconds (Prometheus' "le"), beside +Inf.
  static constexpr std::array<double, 12> kLatencyBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                             0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

  // One answered request. `endpoint` is the route ("/recommend", "/items/{id}"), not the path asked for, so that
  // the label set stays small.
  void record(const std::string& endpoint, int status, double seconds);
  void record_reload(bool ok);
  // What the server serves now.
  void set_state(int64_t live_items, const std::string& model_version, const std::string& index);

  std::string prometheus_text() const;

 private:
  struct Latency {
    std::array<uint64_t, kLatencyBuckets.size()> buckets{};  // per bucket (not cumulative)
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;  // (endpoint, status) -> count
  std::map<std::string, Latency> latency_;                    // endpoint -> histogram
  uint64_t reloads_ = 0, failed_reloads_ = 0;
  int64_t live_items_ = 0;
  std::string model_version_, index_;
};

}  // namespace ftmamba::serve
