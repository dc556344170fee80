// defines: reference_description and reference_legend, what each reference row printed beside a model means
// (popularity, oracle, true-utility), said where the rows are printed: the CLI's metrics table and the
// comparison report.
#pragma once
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace ftmamba::eval {

// One sentence on a reference ranker, or "" for a model or an unknown name.
std::string reference_description(std::string_view ranker);

// The legend's lines are at most this wide, so that an 80-column terminal never wraps them.
inline constexpr size_t kLegendWidth = 79;

// "Reference rows:" and one indented entry per reference ranker among `rankers` (an evaluation protocol's
// object, {RANKER: {METRIC: value}}), in the order they appear; "" when it has none.
std::string reference_legend(const nlohmann::ordered_json& rankers);

}  // namespace ftmamba::eval
