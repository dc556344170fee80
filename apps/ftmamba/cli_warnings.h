// defines: print_warning, a "ftmamba: warning: ..." message on stderr (beside the results on stdout, so that
// --json output stays parseable), and print_popularity_warning, the one that follows a metrics table. On a
// terminal the message is wrapped at word boundaries to the terminal's width (a long line would wrap mid-word);
// off a terminal it is one line, for grep.
#pragma once
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "ftmamba/core/printable.h"
#include "ftmamba/core/progress.h"
#include "ftmamba/eval/popularity_check.h"

namespace ftmamba::cli {

// `text` in lines of at most `columns` - 1 characters, later lines indented by two spaces; a word longer than a
// line stays whole.
inline std::string wrap_words(const std::string& text, int columns) {
  const size_t width = static_cast<size_t>(std::max(columns - 1, 20));
  std::istringstream words(text);
  std::string out, line, word;
  while (words >> word) {
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      out += line + "\n";
      line = "  ";
    }
    line += (line.empty() || line == "  " ? "" : " ") + word;
  }
  return out + line;
}

inline void print_warning(const std::string& text) {
  std::fflush(stdout);  // after the results it follows, also where stdout is a buffered pipe
  const std::string message = "ftmamba: warning: " + printable(text);
  const bool terminal = ProgressBar::stderr_is_terminal();
  fmt::print(stderr, "{}\n", terminal ? wrap_words(message, terminal_columns(STDERR_FILENO)) : message);
}

// After format_metrics_table(evaluation): a warning when the model ranks below popularity.
inline void print_popularity_warning(const nlohmann::ordered_json& evaluation) {
  if (const auto warning = eval::popularity_warning(evaluation)) print_warning(*warning);
}

}  // namespace ftmamba::cli
