// defines: split_values, how a multi-valued categorical cell ("Action|Comedy") becomes its values, and the
// limit on values per cell.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ftmamba::data {

// A cell holds at most this many values: the encoded width of a multi-valued feature is the largest count in
// the data, so one hostile cell must not widen every row's tensor without bound.
inline constexpr int64_t kMaxValuesPerCell = 64;

// The values of a cell split on `separator`, each with surrounding spaces removed, empty ones dropped and
// repeats kept once (first occurrence order): "Action | Comedy|Action|" -> {"Action", "Comedy"}. "" -> {}.
std::vector<std::string> split_values(std::string_view cell, std::string_view separator);

}  // namespace ftmamba::data
