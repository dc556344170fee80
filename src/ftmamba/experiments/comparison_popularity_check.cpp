// defines: comparison_popularity_warnings (see comparison_popularity_check.h).
#include "ftmamba/experiments/comparison_popularity_check.h"

#include <fmt/format.h>

#include "ftmamba/eval/popularity_check.h"

namespace ftmamba::experiments {

std::vector<std::string> comparison_popularity_warnings(const ComparisonInput& c) {
  const nlohmann::json* popularity = nullptr;
  for (const auto& [name, ref] : c.references)
    if (name == "popularity") popularity = ref;
  if (!popularity) return {};
  eval::HeadlineValues pop;
  for (size_t i = 0; i < eval::kHeadlineMetrics.size(); ++i)
    pop[i] = test_value(*popularity, "full", eval::kHeadlineMetrics[i]);

  std::vector<std::string> out;
  for (const auto& model : c.models) {
    const auto runs = c.runs_of(model);
    eval::HeadlineValues mean;
    for (size_t i = 0; i < eval::kHeadlineMetrics.size(); ++i) {
      double sum = 0;
      size_t n = 0;
      for (const auto* r : runs)
        if (const auto v = test_value(*r->j, "full", eval::kHeadlineMetrics[i])) sum += *v, ++n;
      if (n > 0) mean[i] = sum / static_cast<double>(n);
    }
    const std::string who = runs.size() > 1 ? fmt::format("{} (mean of {} seeds)", model, runs.size()) : model;
    const auto shortfalls = eval::below_popularity(mean, pop);
    if (!shortfalls.empty()) out.push_back(eval::popularity_warning(who, shortfalls));
  }
  return out;
}

}  // namespace ftmamba::experiments
