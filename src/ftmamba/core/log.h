// defines: Log, where a library function that runs for long (an experiment, an analysis) sends its progress
// lines, and log_to_stderr, the sink the commands pass.
#pragma once
#include <cstdio>
#include <functional>
#include <string>

namespace ftmamba {

// One line, without its newline.
using Log = std::function<void(const std::string& line)>;

inline void log_to_stderr(const std::string& line) {
  std::fputs(line.c_str(), stderr);
  std::fputc('\n', stderr);
}

}  // namespace ftmamba
