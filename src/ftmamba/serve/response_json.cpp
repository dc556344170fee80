// defines: the response bodies.
#include "ftmamba/serve/response_json.h"

#include <fmt/format.h>

#include <iterator>

namespace ftmamba::serve {
namespace {

// A JSON string: as it is when every byte is printable ASCII other than '"' and '\\' (every generated id), else
// through nlohmann's escaping, which also replaces bytes that are not UTF-8.
void append_string(std::string& out, const std::string& text) {
  bool plain = true;
  for (const char c : text) plain = plain && c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
  if (plain) {
    out += '"';
    out += text;
    out += '"';
    return;
  }
  out += dump_body(nlohmann::ordered_json(text));
}

void append_items(std::string& out, const std::vector<ScoredItem>& items) {
  out += '[';
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    fmt::format_to(std::back_inserter(out), R"({{"rank":{},"item_id":)", items[i].rank);
    append_string(out, items[i].item);
    // Scores are float32 products: the shortest text of the float is exact and half as long as the double's.
    fmt::format_to(std::back_inserter(out), R"(,"score":{}}})", static_cast<float>(items[i].score));
  }
  out += ']';
}

void append_recommendations(std::string& out, const Recommendations& r) {
  out += R"({"user_id":)";
  if (r.user.empty()) {
    out += "null";
  } else {
    append_string(out, r.user);
  }
  out += r.cold_start ? R"(,"cold_start":true,"items":)" : R"(,"cold_start":false,"items":)";
  append_items(out, r.items);
  out += '}';
}

// Closes a body with the version fields.
void append_versions(std::string& out, const std::string& model_version, const std::string& index) {
  out += R"(,"model_version":)";
  append_string(out, model_version);
  out += R"(,"index":)";
  append_string(out, index);
  out += '}';
}

}  // namespace

std::string recommendations_body(const Recommendations& r, const std::string& model_version, const std::string& index) {
  std::string out;
  out.reserve(128 + r.items.size() * 64);
  append_recommendations(out, r);
  out.pop_back();  // the object stays open for the versions
  append_versions(out, model_version, index);
  return out;
}

std::string batch_body(const std::vector<Recommendations>& results, const std::string& model_version,
                       const std::string& index) {
  std::string out = R"({"results":[)";
  for (size_t i = 0; i < results.size(); ++i) {
    if (i > 0) out += ',';
    append_recommendations(out, results[i]);
  }
  out += ']';
  append_versions(out, model_version, index);
  return out;
}

std::string similar_items_body(const std::string& item_id, const std::vector<ScoredItem>& items,
                               const std::string& model_version, const std::string& index) {
  std::string out = R"({"item_id":)";
  append_string(out, item_id);
  out += R"(,"items":)";
  append_items(out, items);
  append_versions(out, model_version, index);
  return out;
}

void add_versions(nlohmann::ordered_json& body, const std::string& model_version, const std::string& index) {
  body["model_version"] = model_version;
  body["index"] = index;
}

std::string dump_body(const nlohmann::ordered_json& body) {
  return body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace ftmamba::serve
