// defines: split_values (see multi_valued.h).
#include "ftmamba/data/multi_valued.h"

#include <unordered_set>

namespace ftmamba::data {

std::vector<std::string> split_values(std::string_view cell, std::string_view separator) {
  std::vector<std::string> out;
  // Repeats are found through a hash set of views into the cell, so that a cell of many values (a 1 MiB field
  // holds 170,000) splits in linear time: a search of `out` made one such cell take a minute.
  std::unordered_set<std::string_view> seen;
  const auto keep = [&](std::string_view v) {
    const auto first = v.find_first_not_of(" \t");
    if (first == std::string_view::npos) return;
    v = v.substr(first, v.find_last_not_of(" \t") - first + 1);
    if (seen.insert(v).second) out.emplace_back(v);
  };
  size_t start = 0;
  for (size_t at; !separator.empty() && (at = cell.find(separator, start)) != std::string_view::npos;
       start = at + separator.size())
    keep(cell.substr(start, at - start));
  keep(cell.substr(start));
  return out;
}

}  // namespace ftmamba::data
