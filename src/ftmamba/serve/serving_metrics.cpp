// defines: ServingMetrics: counting under one mutex (a few increments per request), and the text exposition.
#include "ftmamba/serve/serving_metrics.h"

#include <fmt/format.h>

namespace ftmamba::serve {
namespace {

// A label value as the text format quotes it: backslash, double quote and newline escaped.
std::string label(const std::string& v) {
  std::string out;
  for (const char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

void ServingMetrics::record(const std::string& endpoint, int status, double seconds) {
  std::lock_guard lock(mutex_);
  ++requests_[{endpoint, status}];
  auto& l = latency_[endpoint];
  ++l.count;
  l.sum += seconds;
  for (size_t b = 0; b < kLatencyBuckets.size(); ++b) {
    if (seconds <= kLatencyBuckets[b]) {
      ++l.buckets[b];
      break;
    }
  }
}

void ServingMetrics::record_reload(bool ok) {
  std::lock_guard lock(mutex_);
  ++(ok ? reloads_ : failed_reloads_);
}

void ServingMetrics::set_state(int64_t live_items, const std::string& model_version, const std::string& index) {
  std::lock_guard lock(mutex_);
  live_items_ = live_items;
  model_version_ = model_version;
  index_ = index;
}

std::string ServingMetrics::prometheus_text() const {
  std::lock_guard lock(mutex_);
  std::string out;
  out += "# HELP ftmamba_requests_total Requests answered, by endpoint and HTTP status.\n";
  out += "# TYPE ftmamba_requests_total counter\n";
  for (const auto& [key, n] : requests_)
    out += fmt::format("ftmamba_requests_total{{endpoint=\"{}\",code=\"{}\"}} {}\n", label(key.first), key.second, n);
  out += "# HELP ftmamba_request_errors_total Requests answered with a status of 400 or more, by endpoint.\n";
  out += "# TYPE ftmamba_request_errors_total counter\n";
  std::map<std::string, uint64_t> errors;
  for (const auto& [key, n] : requests_) {
    auto& e = errors[key.first];
    if (key.second >= 400) e += n;
  }
  for (const auto& [endpoint, n] : errors)
    out += fmt::format("ftmamba_request_errors_total{{endpoint=\"{}\"}} {}\n", label(endpoint), n);
  out += "# HELP ftmamba_request_duration_seconds Time from the request read to the response ready, by endpoint.\n";
  out += "# TYPE ftmamba_request_duration_seconds histogram\n";
  for (const auto& [endpoint, l] : latency_) {
    uint64_t cumulative = 0;
    for (size_t b = 0; b < kLatencyBuckets.size(); ++b) {
      cumulative += l.buckets[b];
      out += fmt::format("ftmamba_request_duration_seconds_bucket{{endpoint=\"{}\",le=\"{}\"}} {}\n", label(endpoint),
                         kLatencyBuckets[b], cumulative);
    }
    out += fmt::format("ftmamba_request_duration_seconds_bucket{{endpoint=\"{}\",le=\"+Inf\"}} {}\n", label(endpoint),
                       l.count);
    out += fmt::format("ftmamba_request_duration_seconds_sum{{endpoint=\"{}\"}} {}\n", label(endpoint), l.sum);
    out += fmt::format("ftmamba_request_duration_seconds_count{{endpoint=\"{}\"}} {}\n", label(endpoint), l.count);
  }
  out += "# HELP ftmamba_reloads_total Reloads of the run, by outcome.\n";
  out += "# TYPE ftmamba_reloads_total counter\n";
  out += fmt::format("ftmamba_reloads_total{{outcome=\"ok\"}} {}\n", reloads_);
  out += fmt::format("ftmamba_reloads_total{{outcome=\"failed\"}} {}\n", failed_reloads_);
  out += "# HELP ftmamba_index_items Live items of the catalog searched.\n";
  out += "# TYPE ftmamba_index_items gauge\n";
  out += fmt::format("ftmamba_index_items {}\n", live_items_);
  out += "# HELP ftmamba_model_info The model (its weights' SHA-256, shortened) and the item search serving.\n";
  out += "# TYPE ftmamba_model_info gauge\n";
  out +=
      fmt::format("ftmamba_model_info{{model_version=\"{}\",index=\"{}\"}} 1\n", label(model_version_), label(index_));
  return out;
}

}  // namespace ftmamba::serve
