// defines: find_gnuplot and run_gnuplot, which feeds a generated script to the gnuplot program on its standard
// input, from a given working folder.
#pragma once
#include <filesystem>
#include <string_view>

namespace ftmamba::report {

// The gnuplot executable on PATH (looked up at each call), or an empty path when there is none.
std::filesystem::path find_gnuplot();

// Runs gnuplot in `workdir` with `script` on stdin and waits for it. Throws ftmamba::Error
// "gnuplot not found: apt-get install gnuplot-nox" when it is not on PATH, or an Error quoting gnuplot's
// messages when it exits non-zero (gnuplot stops at the first error of a non-interactive script).
void run_gnuplot(std::string_view script, const std::filesystem::path& workdir);

}  // namespace ftmamba::report
