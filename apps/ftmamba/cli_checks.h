// defines: the checks of option values every command uses, with messages in plain words and plain numbers
// ("--k must be between 1 and 100000 (got 0)", "--preset must be one of spotify, hm, vaccine (got 'spotfy'); did
// you mean 'spotify'?"), and their --help text (the range, or the choices in braces). A failed check is a
// UsageError: exit code 2, its message printed as it is.
#pragma once
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli_suggest.h"
#include "ftmamba/core/enum_text.h"

namespace ftmamba::cli {

// A usage error whose message is complete ("--k must be ..."): main prints it without CLI11's decoration.
class UsageError : public CLI::ParseError {
 public:
  explicit UsageError(std::string message)
      : CLI::ParseError("UsageError", std::move(message), CLI::ExitCodes::ValidationError) {}
};

// "a, b, c"
inline std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// An integer option within [min, max]; max = the type's largest: no upper bound.
inline CLI::Option* check_int_range(CLI::Option* opt, int64_t min, int64_t max) {
  const std::string name = opt->get_name();
  const bool bounded = max != std::numeric_limits<int64_t>::max();
  opt->type_name(bounded ? fmt::format("INT in {}..{}", min, max) : fmt::format("INT >= {}", min));
  return opt->check(CLI::Validator(
      [name, min, max, bounded](std::string& text) -> std::string {
        int64_t v = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (text.empty() || ec != std::errc() || end != text.data() + text.size())
          throw UsageError(fmt::format("{} must be an integer (got '{}')", name, text));
        if (v < min || v > max)
          throw UsageError(bounded ? fmt::format("{} must be between {} and {} (got {})", name, min, max, v)
                                   : fmt::format("{} must be at least {} (got {})", name, min, v));
        return "";
      },
      ""));
}

// A real option of at least `min`.
inline CLI::Option* check_real_at_least(CLI::Option* opt, double min) {
  const std::string name = opt->get_name();
  opt->type_name(fmt::format("NUMBER >= {}", min));
  return opt->check(CLI::Validator(
      [name, min](std::string& text) -> std::string {
        double v = 0;
        try {
          size_t used = 0;
          v = std::stod(text, &used);
          if (used != text.size()) throw std::invalid_argument(text);
        } catch (const std::exception&) {
          throw UsageError(fmt::format("{} must be a number (got '{}')", name, text));
        }
        if (!(v >= min)) throw UsageError(fmt::format("{} must be at least {} (got {})", name, min, text));
        return "";
      },
      ""));
}

// A text option that takes one of `names`; --help shows them in braces.
inline CLI::Option* check_choice(CLI::Option* opt, const std::vector<std::string>& names) {
  const std::string name = opt->get_name();
  std::string braces;
  for (const auto& n : names) braces += (braces.empty() ? "" : ",") + n;
  opt->type_name("{" + braces + "}");
  return opt->check(CLI::Validator(
      [name, names](std::string& text) -> std::string {
        if (std::find(names.begin(), names.end(), text) != names.end()) return "";
        const auto near = closest_name(text, names);
        throw UsageError(fmt::format("{} must be one of {} (got '{}'){}", name, join_names(names), text,
                                     near ? "; did you mean '" + *near + "'?" : ""));
      },
      ""));
}

// Every name of enum E, in declaration order.
template <class E>
std::vector<std::string> enum_names() {
  std::vector<std::string> out;
  for (const auto& [value, name] : EnumText<E>::names) out.emplace_back(name);
  return out;
}

}  // namespace ftmamba::cli
