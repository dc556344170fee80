// defines: add_device_option, the --device option every command that runs a model shares.
#pragma once
#include <CLI/CLI.hpp>
#include <string>

#include "ftmamba/core/device.h"

namespace ftmamba::cli {

inline void add_device_option(CLI::App* cmd, std::string& device) {
  cmd->add_option("--device", device, kDeviceHelp)->capture_default_str();
}

}  // namespace ftmamba::cli
