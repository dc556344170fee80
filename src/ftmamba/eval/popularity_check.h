// defines: the check behind the warning that train, finetune, eval and compare print when a model ranks worse
// than the popularity baseline on the headline metrics, full-catalog HR@10 and NDCG@10 (the k = 10 rows of
// format_metrics_table). A user who sees only the model's numbers cannot tell that they are poor.
#pragma once
#include <array>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace ftmamba::eval {

inline constexpr std::array<const char*, 2> kHeadlineMetrics{"HR@10", "NDCG@10"};

// One headline metric on which a model is below popularity.
struct MetricShortfall {
  std::string metric;  // "HR@10"
  double model = 0.0, popularity = 0.0;
};

// The headline metrics of one ranker, in kHeadlineMetrics order; nullopt where missing.
using HeadlineValues = std::array<std::optional<double>, kHeadlineMetrics.size()>;

// A ranker's row of one protocol ({"HR@10": .., "NDCG@10": .., ...}; nlohmann::json or ordered_json).
template <class Json>
HeadlineValues headline_values(const Json& row) {
  HeadlineValues out;
  for (size_t i = 0; i < kHeadlineMetrics.size(); ++i)
    if (row.is_object() && row.contains(kHeadlineMetrics[i]) && row[kHeadlineMetrics[i]].is_number())
      out[i] = row[kHeadlineMetrics[i]].template get<double>();
  return out;
}

// The headline metrics on which `model` is below `popularity`; a metric missing from either is skipped.
std::vector<MetricShortfall> below_popularity(const HeadlineValues& model, const HeadlineValues& popularity);

// "WHO ranks below the popularity baseline on the full catalog (HR@10 0.0120 vs 0.0450, ...): ... what it means
// and what may help". `who`: "the model", "ft-mamba (mean of 3 seeds)". Empty shortfalls: "".
std::string popularity_warning(const std::string& who, const std::vector<MetricShortfall>& shortfalls);

// The warning for evaluate_test's JSON ({"full": {"model": .., "popularity": ..}}); none when the model is at or
// above popularity, or the JSON has no popularity row.
std::optional<std::string> popularity_warning(const nlohmann::ordered_json& evaluation);

}  // namespace ftmamba::eval
