// defines: how reports write numbers and lists in text and table cells: the mark of a missing value (kDash),
// integers with thousands separators, fixed decimals, and comma-joined lists.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace ftmamba::report {

inline const std::string kDash = "\u2014";  // a missing value

// Rounded to an integer, with thousands separators: 1234567.6 -> "1,234,568", -1234 -> "-1,234".
std::string group_thousands(double v);

// v with exactly `decimals` decimals: fixed(0.12345, 4) -> "0.1235".
std::string fixed(double v, int decimals);

// The parts with `separator` between them: {"a", "b"} -> "a, b".
std::string join(const std::vector<std::string>& parts, std::string_view separator = ", ");

}  // namespace ftmamba::report
