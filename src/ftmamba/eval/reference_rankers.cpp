// defines: reference_description and reference_legend (see reference_rankers.h).
#include "ftmamba/eval/reference_rankers.h"

#include <sstream>

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

namespace {

// `text` broken at spaces into lines of at most `width` characters, the first after `first`, the others after
// `indent`: a legend line that wrapped on an 80-column terminal would be hard to read.
std::string wrap(const std::string& first, const std::string& text, const std::string& indent, size_t width) {
  std::string out = first, word;
  size_t column = first.size();
  std::istringstream words(text);
  bool line_start = first.empty();  // after `first`, a space comes before the first word
  while (words >> word) {
    if (!line_start && column + 1 + word.size() > width) {
      out += "\n" + indent;
      column = indent.size();
      line_start = true;
    }
    if (!line_start) out += ' ', ++column;
    out += word;
    column += word.size();
    line_start = false;
  }
  return out + "\n";
}

}  // namespace

std::string reference_legend(const nlohmann::ordered_json& rankers) {
  std::string out;
  for (const auto& [name, metrics] : rankers.items()) {
    const std::string what = reference_description(name);
    if (!metrics.is_object() || what.empty()) continue;
    if (out.empty()) out = "Reference rows:\n";
    out += wrap("  " + name + ":", what, "    ", kLegendWidth);
  }
  return out;
}

}  // namespace ftmamba::eval
