// defines: the JSON bodies the HTTP server answers with: a list of scored items, one user's recommendations, and
// the version fields every answer carries (ordered_json: the fields in the order written, user and items first)
// (model_version, index), so that a client can tell which model answered.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ftmamba/serve/recommendation.h"

namespace ftmamba::serve {

// [{"rank", "item_id", "score"}, ...]
nlohmann::ordered_json items_json(const std::vector<ScoredItem>& items);

// {"user_id", "cold_start", "items"}; user_id is null for a new user without a label.
nlohmann::ordered_json recommendations_json(const Recommendations& r);

// Adds "model_version" and "index" to `body`.
void add_versions(nlohmann::ordered_json& body, const std::string& model_version, const std::string& index);

// The body as sent: compact, with bytes that are not UTF-8 (an id read from a data file) replaced, never thrown on.
std::string dump_body(const nlohmann::ordered_json& body);

}  // namespace ftmamba::serve
