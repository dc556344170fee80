// defines: read_prompts (see prompt_file.h).
#include "ftmamba/lm/prompt_file.h"

#include <nlohmann/json.hpp>

#include "ftmamba/core/error.h"
#include "ftmamba/core/printable.h"
#include "ftmamba/io/text_lines.h"

namespace ftmamba::lm {

std::vector<std::string> read_prompts(const std::filesystem::path& path) {
  std::vector<std::string> prompts;
  const bool jsonl = path.extension() == ".jsonl";
  io::for_each_line(path, [&](const std::string& line, int64_t n) {
    if (!jsonl) {
      prompts.push_back(line);
      return;
    }
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("prompt") || !j["prompt"].is_string())
      throw Error(printable(path.string()) + ":" + std::to_string(n) +
                  ": key 'prompt': a JSON object with a string \"prompt\" is expected");
    prompts.push_back(j["prompt"].get<std::string>());
  });
  if (prompts.empty()) throw Error(printable(path.string()) + ": no prompts (one per line)");
  return prompts;
}

}  // namespace ftmamba::lm
