// defines: Log, where a library function that runs for long (an experiment, an analysis) sends its progress
// lines, and log_to_stderr, the sink the commands pass.
#pragma once
#include <cstdio>
#include <functional>
#include <string>

#include "ftmamba/core/printable.h"

namespace ftmamba {

// One line, without its newline.
using Log = std::function<void(const std::string& line)>;

// A line may quote input (a path, an id): its control characters are escaped.
inline void log_to_stderr(const std::string& line) {
  std::fputs(printable(line).c_str(), stderr);
  std::fputc('\n', stderr);
}

}  // namespace ftmamba
