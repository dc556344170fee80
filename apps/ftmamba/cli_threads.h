// defines: add_threads_option, the --threads option of the commands that run a model, within the limits of the
// train.threads config key; and apply_threads, which makes it outrank a loaded run's train.threads.
#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "cli_checks.h"
#include "ftmamba/core/threads.h"
#include "ftmamba/run/config_limits.h"

namespace ftmamba::cli {

// `instead_of`: what the option overrides, for --help ("the run's train.threads").
inline void add_threads_option(CLI::App* cmd, std::optional<int64_t>& threads, const std::string& instead_of) {
  auto* opt = cmd->add_option_function<int64_t>(
      "--threads", [&threads](const int64_t& n) { threads = n; },
      "CPU threads, 0 = every core (instead of " + instead_of + ")");
  check_int_range(opt, run::limits::kThreads.min, run::limits::kThreads.max);
}

// For the commands that load a run: --threads, when given, wins over the run's train.threads.
inline void apply_threads(const std::optional<int64_t>& threads) {
  if (threads) override_cpu_threads(static_cast<int>(*threads));
}

}  // namespace ftmamba::cli
