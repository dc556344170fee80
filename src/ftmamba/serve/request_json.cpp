// defines: the request parsers: the body's size and nesting checked before nlohmann::json parses it, then each
// field's type and range, naming the field's path in every refusal.
#include "ftmamba/serve/request_json.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <set>

#include "ftmamba/data/csv.h"

namespace ftmamba::serve {
namespace {

using nlohmann::json;

constexpr int kMaxDepth = 64;  // objects and arrays inside each other; a request needs 4

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string path(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

std::string type_name(const json& v) {
  if (v.is_number_integer() || v.is_number_unsigned()) return "an integer";
  if (v.is_number_float()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_null()) return "null";
  if (v.is_array()) return "an array";
  return "an object";
}

[[noreturn]] void wrong_type(const std::string& field, const json& v, const char* want) {
  throw RequestError(field, "'" + field + "' must be " + want + ", got " + type_name(v));
}

// The deepest nesting of objects and arrays in `body`, counted outside strings, up to kMaxDepth + 1: checked
// before parsing, so that no input makes the parser (or the value's destructor) recurse without bound.
int nesting_depth(std::string_view body) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (const char c : body) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
      if (deepest > kMaxDepth) return deepest;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

json parse_body(std::string_view body, const RequestLimits& limits) {
  if (static_cast<int64_t>(body.size()) > limits.max_body_bytes)
    throw RequestError(
        "body", fmt::format("the body has {} bytes, over the limit of {}", body.size(), limits.max_body_bytes), 413);
  if (nesting_depth(body) > kMaxDepth)
    throw RequestError("body", fmt::format("the JSON nests deeper than {} levels", kMaxDepth));
  json j;
  try {  // without exceptions for a syntax error, but a number beyond a double still throws (out_of_range 406)
    j = json::parse(body.begin(), body.end(), nullptr, false);
  } catch (const json::exception& e) {
    throw RequestError("body", std::string("malformed JSON: ") + e.what());
  }
  if (j.is_discarded()) {
    // Parsed again for the message: where and why (the first pass keeps a valid body free of exceptions).
    try {
      const json again = json::parse(body.begin(), body.end());
    } catch (const json::exception& e) {
      throw RequestError("body", std::string("malformed JSON: ") + e.what());
    }
    throw RequestError("body", "malformed JSON");
  }
  if (!j.is_object()) wrong_type("body", j, "a JSON object");
  return j;
}

// Refuses a key of `object` that is not one of `allowed` (a misspelt "exlude" would otherwise be ignored).
void only_keys(const json& object, const std::string& prefix, std::initializer_list<const char*> allowed) {
  for (const auto& entry : object.items()) {
    const std::string& key = entry.key();  // not a structured binding: C++17 lambdas cannot capture one
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
      std::string names;
      for (const char* a : allowed) names += (names.empty() ? "" : ", ") + std::string(a);
      throw RequestError(path(prefix, key),
                         "unknown field " + data::quote_for_message(key) + " (the fields are: " + names + ")");
    }
  }
}

// An id: a non-empty string, or an integer (ids of CSV files are often numbers), as text.
std::string id_of(const json& v, const std::string& field) {
  std::string id;
  if (v.is_string()) {
    id = v.get<std::string>();
  } else if (v.is_number_integer() || v.is_number_unsigned()) {
    id = v.dump();
  } else {
    wrong_type(field, v, "a string (an id)");
  }
  if (id.empty()) throw RequestError(field, "'" + field + "' must not be empty");
  return id;
}

int64_t k_of(const json& object, const std::string& prefix, const RequestLimits& limits) {
  const auto it = object.find("k");
  if (it == object.end()) return std::min(limits.default_k, limits.max_k);
  const std::string field = path(prefix, "k");
  if (!it->is_number_integer() && !it->is_number_unsigned()) wrong_type(field, *it, "a whole number");
  // nlohmann reads a non-negative integer as unsigned, a negative one as signed.
  const bool in_range = it->is_number_unsigned()
                            ? it->get<uint64_t>() >= 1 && it->get<uint64_t>() <= static_cast<uint64_t>(limits.max_k)
                            : it->get<int64_t>() >= 1 && it->get<int64_t>() <= limits.max_k;
  if (!in_range)
    throw RequestError(field, fmt::format("'{}' must be in 1..{}, got {}", field, limits.max_k, it->dump()));
  return it->get<int64_t>();
}

std::vector<std::string> ids_of(const json& object, const char* key, const std::string& prefix,
                                const RequestLimits& limits) {
  std::vector<std::string> out;
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return out;
  const std::string field = path(prefix, key);
  if (!it->is_array()) wrong_type(field, *it, "an array of item ids");
  // Beyond the catalog's rows nothing more can be excluded; the cap keeps one request's work bounded.
  const int64_t most = std::max<int64_t>(limits.max_batch, limits.max_k) * 10;
  if (static_cast<int64_t>(it->size()) > most)
    throw RequestError(field, fmt::format("'{}' lists {} ids, over the limit of {}", field, it->size(), most));
  for (size_t i = 0; i < it->size(); ++i) out.push_back(id_of((*it)[i], fmt::format("{}[{}]", field, i)));
  return out;
}

// A numerical feature as text that data::feature_table_from_pairs reads back exactly; "" for missing.
std::string numerical_value(const json& v, const std::string& field) {
  std::string text;
  if (v.is_number_float()) {
    text = fmt::format("{}", v.get<double>());  // shortest round-trip form
  } else if (v.is_number_integer() || v.is_number_unsigned()) {
    text = v.dump();
  } else if (v.is_string()) {
    text = v.get<std::string>();
  } else {
    wrong_type(field, v, "a number");
  }
  std::optional<double> parsed;
  std::string why;
  if (!data::try_parse_number(text, parsed, why)) throw RequestError(field, "'" + field + "': " + why);
  return text;
}

std::string categorical_value(const json& v, const std::string& field) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();  // a category code
  wrong_type(field, v, "a string (a category)");
}

std::string multi_value(const json& v, const std::string& field, const std::string& separator) {
  if (!v.is_array()) return categorical_value(v, field);  // already joined: "Action|Comedy"
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string one = categorical_value(v[i], fmt::format("{}[{}]", field, i));
    if (!separator.empty() && one.find(separator) != std::string::npos)
      throw RequestError(
          field, fmt::format("'{}[{}]': a value of a list must not hold the separator '{}'", field, i, separator));
    out += (i == 0 ? "" : separator) + one;
  }
  return out;
}

FeatureValues features_of(const json& v, const std::string& field, const FeatureColumns& columns) {
  if (!v.is_object()) wrong_type(field, v, "an object of feature values");
  const auto has = [](const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  FeatureValues out;
  for (const auto& [name, value] : v.items()) {
    const std::string f = path(field, name);
    if (value.is_null()) {  // missing, as an empty cell
      if (!has(columns.numerical, name) && !has(columns.categorical, name) && !has(columns.multi_valued, name))
        throw RequestError(f, "unknown feature " + data::quote_for_message(name));
      continue;
    }
    if (has(columns.numerical, name)) {
      out.emplace_back(name, numerical_value(value, f));
    } else if (has(columns.categorical, name)) {
      out.emplace_back(name, categorical_value(value, f));
    } else if (has(columns.multi_valued, name)) {
      out.emplace_back(name, multi_value(value, f, columns.separator));
    } else {
      std::vector<std::string> all = columns.numerical;
      all.insert(all.end(), columns.categorical.begin(), columns.categorical.end());
      all.insert(all.end(), columns.multi_valued.begin(), columns.multi_valued.end());
      throw RequestError(f,
                         "unknown feature " + data::quote_for_message(name) + " (the features are: " + join(all) + ")");
    }
  }
  return out;
}

RecommendRequest recommend_of(const json& object, const std::string& prefix, const FeatureColumns& user_features,
                              const RequestLimits& limits) {
  if (!object.is_object()) wrong_type(prefix.empty() ? "body" : prefix, object, "an object");
  only_keys(object, prefix, {"user_id", "features", "k", "exclude_seen", "exclude"});
  RecommendRequest r;
  const auto user = object.find("user_id");
  if (user != object.end() && !user->is_null()) r.user_id = id_of(*user, path(prefix, "user_id"));
  const auto features = object.find("features");
  if (features != object.end() && !features->is_null()) {
    r.has_features = true;
    r.features = features_of(*features, path(prefix, "features"), user_features);
  }
  if (r.user_id.empty() && !r.has_features)
    throw RequestError(path(prefix, "user_id"), "give a known user's \"user_id\", or a new user's \"features\"");
  r.k = k_of(object, prefix, limits);
  if (const auto seen = object.find("exclude_seen"); seen != object.end()) {
    if (!seen->is_boolean()) wrong_type(path(prefix, "exclude_seen"), *seen, "true or false");
    r.exclude_seen = seen->get<bool>();
  }
  r.exclude = ids_of(object, "exclude", prefix, limits);
  return r;
}

// The array at object[key], at most limits.max_batch long and not empty.
const json& batch_of(const json& object, const char* key, const RequestLimits& limits) {
  const auto it = object.find(key);
  if (it == object.end()) throw RequestError(key, std::string("missing field '") + key + "'");
  if (!it->is_array()) wrong_type(key, *it, "an array");
  if (it->empty()) throw RequestError(key, std::string("'") + key + "' is empty");
  if (static_cast<int64_t>(it->size()) > limits.max_batch)
    throw RequestError(key,
                       fmt::format("'{}' has {} entries, over the limit of {}", key, it->size(), limits.max_batch));
  return *it;
}

}  // namespace

nlohmann::ordered_json error_json(const std::string& message, const std::string& field) {
  return {{"error", message}, {"field", field}};
}

RecommendRequest parse_recommend_request(std::string_view body, const FeatureColumns& user_features,
                                         const RequestLimits& limits) {
  return recommend_of(parse_body(body, limits), "", user_features, limits);
}

std::vector<RecommendRequest> parse_batch_request(std::string_view body, const FeatureColumns& user_features,
                                                  const RequestLimits& limits) {
  const json j = parse_body(body, limits);
  only_keys(j, "", {"requests"});
  const json& requests = batch_of(j, "requests", limits);
  std::vector<RecommendRequest> out;
  out.reserve(requests.size());
  for (size_t i = 0; i < requests.size(); ++i)
    out.push_back(recommend_of(requests[i], fmt::format("requests[{}]", i), user_features, limits));
  return out;
}

SimilarItemsRequest parse_similar_items_request(std::string_view body, const RequestLimits& limits) {
  const json j = parse_body(body, limits);
  only_keys(j, "", {"item_id", "k", "exclude"});
  SimilarItemsRequest r;
  const auto item = j.find("item_id");
  if (item == j.end() || item->is_null()) throw RequestError("item_id", "missing field 'item_id'");
  r.item_id = id_of(*item, "item_id");
  r.k = k_of(j, "", limits);
  r.exclude = ids_of(j, "exclude", "", limits);
  return r;
}

std::vector<ItemUpdate> parse_items_request(std::string_view body, const FeatureColumns& item_features,
                                            const RequestLimits& limits) {
  const json j = parse_body(body, limits);
  only_keys(j, "", {"items"});
  const json& items = batch_of(j, "items", limits);
  std::vector<ItemUpdate> out;
  std::set<std::string> ids;
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string prefix = fmt::format("items[{}]", i);
    const json& entry = items[i];
    if (!entry.is_object()) wrong_type(prefix, entry, "an object");
    only_keys(entry, prefix, {"item_id", "features"});
    ItemUpdate u;
    const auto id = entry.find("item_id");
    if (id == entry.end() || id->is_null())
      throw RequestError(path(prefix, "item_id"), "missing field '" + path(prefix, "item_id") + "'");
    u.item_id = id_of(*id, path(prefix, "item_id"));
    if (!ids.insert(u.item_id).second)
      throw RequestError(path(prefix, "item_id"), "item " + data::quote_for_message(u.item_id) + " is given twice");
    const auto features = entry.find("features");
    if (features == entry.end())
      throw RequestError(path(prefix, "features"), "missing field '" + path(prefix, "features") + "'");
    u.features = features_of(*features, path(prefix, "features"), item_features);
    out.push_back(std::move(u));
  }
  return out;
}

}  // namespace ftmamba::serve
