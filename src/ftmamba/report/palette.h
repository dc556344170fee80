// defines: the styles that tell a figure's series apart: colour-blind-safe (Okabe-Ito) colours, and gnuplot
// dash patterns and point types, each cycling through a fixed list.
#pragma once
#include <cstddef>
#include <iterator>

namespace ftmamba::report {

inline const char* series_colour(int i) {
  static const char* const colours[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"};
  return colours[static_cast<std::size_t>(i) % std::size(colours)];
}

// gnuplot's `dt` 1..5: solid, then dashed and dotted patterns.
inline int series_dash(int i) { return 1 + i % 5; }

// gnuplot's `pt`: filled circle, filled square, filled triangles, filled diamond.
inline int series_point(int i) {
  static const int points[] = {7, 5, 9, 11, 13};
  return points[static_cast<std::size_t>(i) % std::size(points)];
}

}  // namespace ftmamba::report
