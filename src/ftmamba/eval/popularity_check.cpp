// defines: below_popularity and popularity_warning (see popularity_check.h).
#include "ftmamba/eval/popularity_check.h"

#include <fmt/format.h>

namespace ftmamba::eval {
std::vector<MetricShortfall> below_popularity(const HeadlineValues& model, const HeadlineValues& popularity) {
  std::vector<MetricShortfall> out;
  for (size_t i = 0; i < kHeadlineMetrics.size(); ++i)
    if (model[i] && popularity[i] && *model[i] < *popularity[i])
      out.push_back({kHeadlineMetrics[i], *model[i], *popularity[i]});
  return out;
}

std::string popularity_warning(const std::string& who, const std::vector<MetricShortfall>& shortfalls) {
  if (shortfalls.empty()) return "";
  std::string numbers;
  for (const auto& s : shortfalls)
    numbers += fmt::format("{}{} {:.4f} vs {:.4f}", numbers.empty() ? "" : ", ", s.metric, s.model, s.popularity);
  return fmt::format(
      "{} ranks below the popularity baseline on the full catalog ({}): recommending the most popular items to "
      "everyone does better. On small data popularity is hard to beat; more data or more epochs "
      "(--set train.epochs=N) may help.",
      who, numbers);
}

std::optional<std::string> popularity_warning(const nlohmann::ordered_json& evaluation) {
  const auto full = evaluation.find("full");
  if (full == evaluation.end() || !full->contains("model") || !full->contains("popularity")) return std::nullopt;
  const auto shortfalls = below_popularity(headline_values(full->at("model")), headline_values(full->at("popularity")));
  if (shortfalls.empty()) return std::nullopt;
  return popularity_warning("the model", shortfalls);
}

}  // namespace ftmamba::eval
