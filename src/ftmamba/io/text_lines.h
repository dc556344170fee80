// defines: for_each_line, the reading of a line-oriented input file (JSON Lines of instructions, tasks or
// prompts): a regular file only, each line without its newline or a CR before it, empty lines skipped, with its
// 1-based number for the "PATH:LINE: ..." of an error.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace ftmamba::io {

// Calls visit(line, number) for each non-empty line of `path`, in order. Error naming the path when it is not a
// regular file or cannot be opened; what visit throws goes through.
void for_each_line(const std::filesystem::path& path, const std::function<void(const std::string&, int64_t)>& visit);

}  // namespace ftmamba::io
