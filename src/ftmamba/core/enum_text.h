// defines: EnumText<E>, the text names of a typed enum that arrives as text (a config key, a command-line option),
// and parse_enum / enum_name / enum_choices over it. Text becomes the enum once, where it enters; past that point
// code compares enums, never strings.
#pragma once
#include <array>
#include <string>
#include <string_view>
#include <utility>

#include "ftmamba/core/error.h"

namespace ftmamba {

// Specialise for each enum E, beside E:
//   template <> struct EnumText<E> {
//     static constexpr std::string_view what = "precision";  // for messages: "unknown precision 'x'"
//     static constexpr std::array<std::pair<E, std::string_view>, N> names{{{E::kA, "a"}, ...}};
//   };
template <class E>
struct EnumText;

// "a, b, c": every name, in declaration order.
template <class E>
std::string enum_choices() {
  std::string out;
  for (const auto& [value, name] : EnumText<E>::names) out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

template <class E>
std::string enum_name(E e) {
  for (const auto& [value, name] : EnumText<E>::names)
    if (value == e) return std::string(name);
  throw Error("no name for " + std::string(EnumText<E>::what) + " value " + std::to_string(static_cast<int>(e)));
}

// False when `text` names no value (out is then unchanged).
template <class E>
bool try_parse_enum(std::string_view text, E& out) {
  for (const auto& [value, name] : EnumText<E>::names)
    if (name == text) return out = value, true;
  return false;
}

// Throws Error("unknown WHAT 'text'; known: a, b, c").
template <class E>
E parse_enum(std::string_view text) {
  E out{};
  if (!try_parse_enum(text, out))
    throw Error("unknown " + std::string(EnumText<E>::what) + " '" + std::string(text) +
                "'; known: " + enum_choices<E>());
  return out;
}

}  // namespace ftmamba
