// defines: the parsing of comma-separated option values ("ft-mamba,ft-transformer", "1,2,3") shared by
// the subcommands that take lists, with errors that name the option and the bad part.
#pragma once
#include <algorithm>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "ftmamba/core/enum_text.h"
#include "ftmamba/core/error.h"

namespace ftmamba::cli {

// The non-empty parts of a comma-separated value.
inline std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string part; std::getline(ss, part, ',');)
    if (!part.empty()) out.push_back(part);
  return out;
}

// The parts as integers; throws Error "OPTION: 'x' is not an integer" (or "OPTION is empty").
inline std::vector<int64_t> parse_int_list(const std::string& option, const std::string& text) {
  std::vector<int64_t> out;
  for (const auto& s : split_list(text)) {
    try {
      size_t used = 0;
      out.push_back(std::stoll(s, &used));
      if (used != s.size()) throw std::invalid_argument(s);
    } catch (const std::exception&) {
      throw Error(option + ": '" + s + "' is not an integer");
    }
  }
  if (out.empty()) throw Error(option + " is empty");
  return out;
}

// The parts as values of enum E; throws Error "OPTION: unknown WHAT 'x'; known: a, b" (or "OPTION is empty").
template <class E>
std::vector<E> parse_enum_list(const std::string& option, const std::string& text) {
  std::vector<E> out;
  for (const auto& s : split_list(text)) {
    try {
      out.push_back(parse_enum<E>(s));
    } catch (const Error& e) {
      throw Error(option + ": " + e.what());
    }
  }
  if (out.empty()) throw Error(option + " is empty");
  return out;
}

}  // namespace ftmamba::cli
