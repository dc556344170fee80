// defines: the response bodies.
#include "ftmamba/serve/response_json.h"

namespace ftmamba::serve {

nlohmann::ordered_json items_json(const std::vector<ScoredItem>& items) {
  auto out = nlohmann::ordered_json::array();
  for (const auto& it : items) out.push_back({{"rank", it.rank}, {"item_id", it.item}, {"score", it.score}});
  return out;
}

nlohmann::ordered_json recommendations_json(const Recommendations& r) {
  return {{"user_id", r.user.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(r.user)},
          {"cold_start", r.cold_start},
          {"items", items_json(r.items)}};
}

void add_versions(nlohmann::ordered_json& body, const std::string& model_version, const std::string& index) {
  body["model_version"] = model_version;
  body["index"] = index;
}

std::string dump_body(const nlohmann::ordered_json& body) {
  return body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace ftmamba::serve
