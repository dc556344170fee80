// defines: split_list, which splits a comma-separated option value ("ft-mamba,ft-transformer") into its
// non-empty parts; shared by the subcommands that take lists.
#pragma once
#include <sstream>
#include <string>
#include <vector>

namespace ftmamba::cli {

inline std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string part; std::getline(ss, part, ',');)
    if (!part.empty()) out.push_back(part);
  return out;
}

}  // namespace ftmamba::cli
