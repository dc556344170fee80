// defines: add_device_option, the --device option every command that runs a model shares: auto, cpu, cuda or
// cuda:N, checked as it is parsed (whether that GPU exists is choose_device's business, when the command runs).
#pragma once
#include <CLI/CLI.hpp>
#include <cctype>
#include <optional>
#include <string>

#include "cli_checks.h"
#include "ftmamba/core/device.h"

namespace ftmamba::cli {

inline bool is_device_spec(const std::string& s) {
  if (s == "auto" || s == "cpu" || s == "cuda") return true;
  if (s.rfind("cuda:", 0) != 0 || s.size() == 5) return false;
  return std::all_of(s.begin() + 5, s.end(), [](unsigned char c) { return std::isdigit(c); });
}

inline void add_device_option(CLI::App* cmd, std::string& device) {
  auto* opt = cmd->add_option("--device", device, kDeviceHelp)->capture_default_str();
  opt->type_name("{auto,cpu,cuda,cuda:N}");
  opt->check(CLI::Validator(
      [](std::string& text) -> std::string {
        if (is_device_spec(text)) return "";
        // "gpu" is one edit from "cpu", but means cuda.
        const auto near = text.rfind("gpu", 0) == 0 ? std::optional<std::string>("cuda" + text.substr(3))
                                                    : closest_name(text, {"auto", "cpu", "cuda"});
        throw UsageError(fmt::format("--device must be one of auto, cpu, cuda, cuda:N (got '{}'){}", text,
                                     near ? "; did you mean '" + *near + "'?" : ""));
      },
      ""));
}

}  // namespace ftmamba::cli
