// defines: read_prompts, the prompts of `ftmamba lm generate --prompts FILE`: one per line, or, in a .jsonl file,
// one {"prompt": "..."} object per line.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace ftmamba::lm {

// Empty lines are skipped. Error "PATH:LINE: key 'prompt': ..." for a .jsonl line that is not such an object, and
// "PATH: no prompts" for a file without any.
std::vector<std::string> read_prompts(const std::filesystem::path& path);

}  // namespace ftmamba::lm
