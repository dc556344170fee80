// defines: add_precision_option, the --precision option of the commands that run a model (train, finetune,
// eval, encode).
#pragma once
#include <CLI/CLI.hpp>
#include <string>

#include "cli_checks.h"
#include "ftmamba/ops/precision.h"

namespace ftmamba::cli {

inline void add_precision_option(CLI::App* cmd, std::string& precision, const std::string& default_note = "") {
  check_choice(cmd->add_option("--precision", precision, std::string(ops::kPrecisionHelp) + default_note),
               enum_names<ops::Precision>());
}

}  // namespace ftmamba::cli
