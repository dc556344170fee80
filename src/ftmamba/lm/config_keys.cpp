// defines: the config.json key checks (see config_keys.h).
#include "ftmamba/lm/config_keys.h"

#include "ftmamba/core/error.h"
#include "ftmamba/io/json_file.h"

namespace ftmamba::lm::config_keys {
namespace fs = std::filesystem;

nlohmann::json read_object(const fs::path& path) {
  if (!fs::exists(path)) throw Error(path.string() + ": not found");
  auto j = io::read_json_file(path);
  if (!j.is_object()) throw Error(path.string() + ": not a JSON object");
  return j;
}

int64_t integer(const nlohmann::json& j, const fs::path& file, const std::string& key, int64_t lo, int64_t hi,
                std::optional<int64_t> fallback) {
  if (!j.contains(key)) {
    if (fallback) return *fallback;
    throw Error(file.string() + ": key '" + key + "' is missing");
  }
  const auto& v = j[key];
  if (!v.is_number_integer())
    throw Error(file.string() + ": key '" + key + "' must be a whole number, got " + v.dump());
  const int64_t x = v.get<int64_t>();
  if (x < lo || x > hi)
    throw Error(file.string() + ": key '" + key + "' must be in " + std::to_string(lo) + ".." + std::to_string(hi) +
                ", got " + std::to_string(x));
  return x;
}

bool boolean(const nlohmann::json& j, const fs::path& file, const std::string& key, bool fallback) {
  if (!j.contains(key)) return fallback;
  if (!j[key].is_boolean())
    throw Error(file.string() + ": key '" + key + "' must be true or false, got " + j[key].dump());
  return j[key].get<bool>();
}

void require(const nlohmann::json& j, const fs::path& file, const std::string& key, const nlohmann::json& supported,
             const std::string& why) {
  if (j.contains(key) && j[key] != supported)
    throw Error(file.string() + ": key '" + key + "' is " + j[key].dump() + "; ftmamba runs only " + supported.dump() +
                " (" + why + ")");
}

}  // namespace ftmamba::lm::config_keys
