// defines: catalog_log_line, read_catalog_log (see catalog_log.h).
#include "ftmamba/serve/catalog_log.h"

#include <nlohmann/json.hpp>
#include <string_view>

#include "ftmamba/core/error.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/io/regular_file.h"

namespace ftmamba::serve {
namespace {

using Json = nlohmann::ordered_json;

CatalogChange parse_change(std::string_view text, const std::string& where) {
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded()) throw Error(where + ": malformed JSON");
  if (!j.is_object()) throw Error(where + ": a change is a JSON object");
  CatalogChange change;
  bool has_features = false;
  for (const auto& [key, value] : j.items()) {
    if (key == "item_id") {
      if (!value.is_string() || value.get<std::string>().empty())
        throw Error(where + ": key 'item_id': a non-empty string is expected");
      change.item_id = value.get<std::string>();
    } else if (key == "removed") {
      if (!value.is_boolean() || !value.get<bool>()) throw Error(where + ": key 'removed': only true is allowed");
      change.removed = true;
    } else if (key == "features") {
      if (!value.is_object()) throw Error(where + ": key 'features': an object is expected");
      for (const auto& [name, v] : value.items()) {
        if (!v.is_string()) throw Error(where + ": key 'features." + name + "': a string is expected");
        change.features.emplace_back(name, v.get<std::string>());
      }
      has_features = true;
    } else {
      throw Error(where + ": unknown key '" + key + "'");
    }
  }
  if (change.item_id.empty()) throw Error(where + ": key 'item_id' is missing");
  if (change.removed == has_features)
    throw Error(where + ": a change has either 'features' or 'removed': true, not " +
                (has_features ? "both" : "neither"));
  return change;
}

}  // namespace

std::string catalog_log_line(const CatalogChange& change) {
  Json j = {{"item_id", change.item_id}};
  if (change.removed) {
    j["removed"] = true;
  } else {
    Json features = Json::object();
    for (const auto& [name, value] : change.features) features[name] = value;
    j["features"] = std::move(features);
  }
  try {
    return j.dump() + "\n";
  } catch (const Json::exception&) {  // an id from the catalog's file that is not UTF-8
    throw Error("the change of item '" + change.item_id + "' cannot be logged: its id or features are not UTF-8");
  }
}

std::vector<CatalogChange> read_catalog_log(const std::filesystem::path& path, const Log& log) {
  std::vector<CatalogChange> changes;
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::symlink_status(path, ec))) return changes;
  io::require_regular_file(path);  // a FIFO or device named as the log would block the start or never end
  const std::string text = io::read_file(path);
  size_t begin = 0;
  for (int64_t line = 1; begin < text.size(); ++line) {
    const size_t end = text.find('\n', begin);
    const std::string where = path.string() + ":" + std::to_string(line);
    if (end == std::string::npos) {
      if (log) log("serve: " + where + ": a change cut short (the server stopped while writing it) is ignored");
      break;
    }
    const std::string_view body(text.data() + begin, end - begin);
    if (!body.empty()) changes.push_back(parse_change(body, where));
    begin = end + 1;
  }
  return changes;
}

}  // namespace ftmamba::serve
