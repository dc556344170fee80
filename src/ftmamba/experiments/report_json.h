// defines: lenient readers of the optional fields of the reports' JSON inputs (comparison.json, scaling.json):
// a number or a string when present, nothing otherwise.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace ftmamba::experiments {

// j[key] when j is an object holding a number there.
std::optional<double> optional_number(const nlohmann::json& j, const std::string& key);

// j[key] as text ("" when absent or null; a non-string value as its JSON).
std::string optional_string(const nlohmann::json& j, const std::string& key);

// The elements of an array as "a, b, c" (strings as they are, other values as JSON); "" for a non-array.
std::string join_values(const nlohmann::json& array);

}  // namespace ftmamba::experiments
