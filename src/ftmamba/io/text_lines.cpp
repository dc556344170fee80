// defines: for_each_line (see text_lines.h).
#include "ftmamba/io/text_lines.h"

#include <fstream>

#include "ftmamba/core/error.h"
#include "ftmamba/io/regular_file.h"

namespace ftmamba::io {

void for_each_line(const std::filesystem::path& path, const std::function<void(const std::string&, int64_t)>& visit) {
  require_regular_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open file");
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) visit(line, n);
  }
}

}  // namespace ftmamba::io
