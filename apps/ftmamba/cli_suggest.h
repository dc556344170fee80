// defines: closest_name, the "did you mean" of the command line: the known name nearest to a mistyped one by
// edit distance (insertions, deletions, substitutions and swaps of two neighbours each count 1), when it is near
// enough to be the likely intent.
#pragma once
#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ftmamba::cli {

// Optimal string alignment distance: Levenshtein plus the swap of two adjacent characters ("tarin" -> "train").
inline size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

// The known name nearest to `given`, if within 1 edit for names up to 4 characters, 2 up to 8, 3 beyond; the first
// of equally near ones.
inline std::optional<std::string> closest_name(std::string_view given, const std::vector<std::string>& known) {
  const size_t limit = given.size() <= 4 ? 1 : given.size() <= 8 ? 2 : 3;
  std::optional<std::string> best;
  size_t best_distance = limit + 1;
  for (const auto& name : known) {
    const size_t d = edit_distance(given, name);
    if (d < best_distance) best = name, best_distance = d;
  }
  return best;
}

}  // namespace ftmamba::cli
