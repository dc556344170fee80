// defines: toml_line, the " (line N)" that an error about a TOML value ends with (schema.toml, --config files).
#pragma once
#include <toml++/toml.h>

#include <string>

namespace ftmamba::data {

// " (line N)" for the line where node n starts, or "" when it has no source position.
inline std::string toml_line(const toml::node& n) {
  const auto line = n.source().begin.line;
  return line > 0 ? " (line " + std::to_string(line) + ")" : "";
}

}  // namespace ftmamba::data
