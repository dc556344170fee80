// defines: add_precision_option, the --precision option of the commands that run a model (train, finetune,
// eval, encode).
#pragma once
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "ftmamba/ops/precision.h"

namespace ftmamba::cli {

inline std::vector<std::string> precision_names() {
  std::vector<std::string> out;
  for (const auto& [value, name] : EnumText<ops::Precision>::names) out.emplace_back(name);
  return out;
}

inline void add_precision_option(CLI::App* cmd, std::string& precision, const std::string& default_note = "") {
  cmd->add_option("--precision", precision, std::string(ops::kPrecisionHelp) + default_note)
      ->check(CLI::IsMember(precision_names()));
}

}  // namespace ftmamba::cli
