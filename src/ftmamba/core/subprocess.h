// defines: run_child, which runs a program to completion (stdout to a file, stderr shared) and reports its
// exit status, wall time and peak resident memory, as measured by the kernel for that process alone.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace ftmamba {

struct ChildResult {
  int exit_code = -1;        // 128 + signal number when the child was killed by a signal
  double seconds = 0.0;      // wall time
  double max_rss_mib = 0.0;  // peak resident set size of the child (getrusage ru_maxrss)
};

// argv[0] is the program path. stdout_file empty: the child inherits stdout. Throws Error when the
// program cannot be started; a non-zero exit is reported, not thrown.
ChildResult run_child(const std::vector<std::string>& argv, const std::filesystem::path& stdout_file = {});

// The path of the running executable (/proc/self/exe), for re-invoking ourselves.
std::filesystem::path self_executable();

}  // namespace ftmamba
