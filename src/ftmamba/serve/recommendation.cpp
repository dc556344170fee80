// defines: to_json of Recommendations.
#include "ftmamba/serve/recommendation.h"

namespace ftmamba::serve {

nlohmann::ordered_json to_json(const Recommendations& r) {
  nlohmann::ordered_json out;
  out["user"] = r.user;
  out["cold_start"] = r.cold_start;
  out["items"] = nlohmann::ordered_json::array();
  for (const auto& it : r.items) out["items"].push_back({{"rank", it.rank}, {"item", it.item}, {"score", it.score}});
  return out;
}

}  // namespace ftmamba::serve
