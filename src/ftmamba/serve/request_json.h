// defines: the typed requests of the HTTP server (recommend, a batch of them, similar items, item updates), parsed
// and checked from request bodies apart from any server, and RequestError, how a bad body is refused: the HTTP
// status, the message, and the field at fault ("k", "requests[2].features.age").
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "ftmamba/core/error.h"
#include "ftmamba/serve/feature_values.h"

namespace ftmamba::serve {

// What a server accepts (ftmamba serve --max-k, --max-batch, --max-body-bytes).
struct RequestLimits {
  int64_t max_k = 1000;                  // items per list
  int64_t max_batch = 1000;              // requests of a batch, items of an update
  int64_t max_body_bytes = 1024 * 1024;  // a request body
  int64_t default_k = 10;                // when a request gives no "k"
};

// The feature columns a side's tower reads, by kind: a request may name only these.
struct FeatureColumns {
  std::vector<std::string> numerical, categorical, multi_valued;
  std::string separator = "|";  // joins the values of a multi_valued feature given as a list
};

// A request the server refuses: `status` (400; 413 for a body over the limit), the message, and the field at fault
// (a JSON path; "body" for the body as a whole).
struct RequestError : Error {
  RequestError(std::string field, const std::string& what, int status = 400)
      : Error(what), field(std::move(field)), status(status) {}
  std::string field;
  int status;
};

// {"error": message, "field": field}
nlohmann::ordered_json error_json(const std::string& message, const std::string& field);

// POST /recommend: {"user_id": "U1"} or {"features": {"age": 31, "country": "FR"}} (both: a new user labelled
// with the id), and optional "k", "exclude_seen" (default true), "exclude": [item ids].
struct RecommendRequest {
  std::string user_id;  // "" when not given
  bool has_features = false;
  FeatureValues features;  // as text; numbers in round-trip form, a list's values joined by the separator
  int64_t k = 10;
  bool exclude_seen = true;
  std::vector<std::string> exclude;
};

// POST /similar_items: {"item_id": "I1", "k": 10, "exclude": [...]}.
struct SimilarItemsRequest {
  std::string item_id;
  int64_t k = 10;
  std::vector<std::string> exclude;
};

// One item of POST /items: {"item_id": "I9", "features": {...}}.
struct ItemUpdate {
  std::string item_id;
  FeatureValues features;
};

// Each parser throws RequestError for: a body over the limit (413), malformed JSON or nesting deeper than 64, a
// field of the wrong type, an unknown field or feature, a missing id, an empty id, a numerical feature that is not
// a finite number (a string such as "nan" or "1e999" included), k out of 1..max_k, a batch over max_batch.
RecommendRequest parse_recommend_request(std::string_view body, const FeatureColumns& user_features,
                                         const RequestLimits& limits);
// POST /recommend/batch: {"requests": [recommend requests]}.
std::vector<RecommendRequest> parse_batch_request(std::string_view body, const FeatureColumns& user_features,
                                                  const RequestLimits& limits);
SimilarItemsRequest parse_similar_items_request(std::string_view body, const RequestLimits& limits);
// POST /items: {"items": [{"item_id", "features"}]}.
std::vector<ItemUpdate> parse_items_request(std::string_view body, const FeatureColumns& item_features,
                                            const RequestLimits& limits);

}  // namespace ftmamba::serve
