// defines: the lenient JSON field readers of the reports (see report_json.h).
#include "ftmamba/experiments/report_json.h"

namespace ftmamba::experiments {

std::optional<double> optional_number(const nlohmann::json& j, const std::string& key) {
  if (!j.is_object()) return std::nullopt;
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

std::string optional_string(const nlohmann::json& j, const std::string& key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string join_values(const nlohmann::json& array) {
  std::string out;
  if (!array.is_array()) return out;
  for (const auto& x : array) out += (out.empty() ? "" : ", ") + (x.is_string() ? x.get<std::string>() : x.dump());
  return out;
}

}  // namespace ftmamba::experiments
