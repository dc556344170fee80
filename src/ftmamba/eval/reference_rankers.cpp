// defines: reference_description and reference_legend (see reference_rankers.h).
#include "ftmamba/eval/reference_rankers.h"

namespace ftmamba::eval {

std::string reference_description(std::string_view ranker) {
  if (ranker == "popularity")
    return "ranks every user's items by their training interaction counts: the floor a model should clear. On "
           "small data it is hard to beat.";
  if (ranker == "oracle")
    return "ranks by the data generator's expected utility given the features (synthetic data only). It is not "
           "the best ranking the features allow: a trained model also learns which users and items the history "
           "identifies, and can score above it.";
  if (ranker == "true-utility")
    return "ranks by the generator's utility with each user's hidden taste included, without the sampling noise "
           "(synthetic data only): the real ceiling, which no model reaches.";
  return "";
}

std::string reference_legend(const nlohmann::ordered_json& rankers) {
  std::string out;
  for (const auto& [name, metrics] : rankers.items()) {
    const std::string what = reference_description(name);
    if (!metrics.is_object() || what.empty()) continue;
    if (out.empty()) out = "Reference rows:\n";
    out += "  " + name + ": " + what + "\n";
  }
  return out;
}

}  // namespace ftmamba::eval
