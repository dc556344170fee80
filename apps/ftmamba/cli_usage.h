// defines: explain_usage_error, the message for a command line that CLI11 refused, in the words of the mistake
// most likely behind it: a mistyped command or option (with the nearest known name: "unknown command 'traing';
// did you mean 'train'?"), a missing command; else CLI11's own message with where to read the usage.
#pragma once
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace ftmamba::cli {

// `args`: the command line without the program name. `parse_error`: CLI11's message.
std::string explain_usage_error(CLI::App& app, const std::vector<std::string>& args, const std::string& parse_error);

}  // namespace ftmamba::cli
