// defines: add_precision_option, the --precision option of the commands that run a model (train, finetune,
// eval, encode).
#pragma once
#include <CLI/CLI.hpp>
#include <string>

#include "ftmamba/ops/precision.h"

namespace ftmamba::cli {

inline void add_precision_option(CLI::App* cmd, std::string& precision, const std::string& default_note = "") {
  cmd->add_option("--precision", precision, std::string(ops::kPrecisionHelp) + default_note)
      ->check(CLI::IsMember({"fp32", "bf16", "fp16", "bf16-pure"}));
}

}  // namespace ftmamba::cli
