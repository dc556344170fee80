// defines: to_json and to_table of Recommendations.
#include "ftmamba/serve/recommendation.h"

#include <fmt/format.h>

#include "ftmamba/core/printable.h"

namespace ftmamba::serve {

nlohmann::ordered_json to_json(const Recommendations& r) {
  nlohmann::ordered_json out;
  out["user"] = r.user;
  out["cold_start"] = r.cold_start;
  out["items"] = nlohmann::ordered_json::array();
  for (const auto& it : r.items) out["items"].push_back({{"rank", it.rank}, {"item", it.item}, {"score", it.score}});
  return out;
}

std::string to_table(const Recommendations& r) {
  std::string out = fmt::format("{:>4}  {:<24} {:>9}\n", "rank", "item", "score");
  for (const auto& it : r.items) out += fmt::format("{:>4}  {:<24} {:>9.4f}\n", it.rank, printable(it.item), it.score);
  return out;
}

}  // namespace ftmamba::serve
