// defines: the JSON bodies the HTTP server answers with: one user's recommendations, a batch of them, an item's
// similar items, each with the version fields every answer carries (model_version, index), so that a client can
// tell which model answered; add_versions for the bodies built as JSON trees (ordered_json: the fields in the order
// written), and dump_body.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ftmamba/serve/recommendation.h"

namespace ftmamba::serve {

// The bodies of the routes that answer with item lists, written straight to text (a body of 100 items as a JSON
// tree cost a fifth of a request's CPU time under load). Items are {"rank", "item_id", "score"}, with the score in
// the shortest form that reads back as the same float32; user_id is null for a new user without a label.
// {"user_id", "cold_start", "items", "model_version", "index"}
std::string recommendations_body(const Recommendations& r, const std::string& model_version, const std::string& index);
// {"results": [{"user_id", "cold_start", "items"}, ...], "model_version", "index"}
std::string batch_body(const std::vector<Recommendations>& results, const std::string& model_version,
                       const std::string& index);
// {"item_id", "items", "model_version", "index"}
std::string similar_items_body(const std::string& item_id, const std::vector<ScoredItem>& items,
                               const std::string& model_version, const std::string& index);

// Adds "model_version" and "index" to `body`.
void add_versions(nlohmann::ordered_json& body, const std::string& model_version, const std::string& index);

// The body as sent: compact, with bytes that are not UTF-8 (an id read from a data file) replaced, never thrown on.
std::string dump_body(const nlohmann::ordered_json& body);

}  // namespace ftmamba::serve
