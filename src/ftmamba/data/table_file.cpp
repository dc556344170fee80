// defines: table_file_names, existing_table_files and find_table_file (see table_file.h).
#include "ftmamba/data/table_file.h"

#include "ftmamba/core/error.h"

namespace ftmamba::data {

namespace fs = std::filesystem;

std::vector<std::string> table_file_names(std::string_view table) {
  const std::string t(table);
  return {t + ".csv", t + ".tsv", t + ".csv.gz", t + ".tsv.gz"};
}

std::vector<fs::path> existing_table_files(const fs::path& dir, std::string_view table) {
  std::vector<fs::path> found;
  for (const auto& name : table_file_names(table)) {
    std::error_code ec;
    // symlink_status: a dangling link still counts, so that reading it says "not found" under its own name.
    if (fs::exists(fs::symlink_status(dir / name, ec))) found.push_back(dir / name);
  }
  return found;
}

TableFile find_table_file(const fs::path& dir, std::string_view table, std::optional<char> delimiter) {
  const auto found = existing_table_files(dir, table);
  if (found.empty()) {
    const auto names = table_file_names(table);
    throw DataError((dir / names[0]).string() + ": file not found (nor " + names[1] + ", " + names[2] + " or " +
                    names[3] + ")");
  }
  if (found.size() > 1) {
    std::string list;
    for (size_t k = 0; k < found.size(); ++k)
      list += (k == 0 ? "" : k + 1 == found.size() ? " and " : ", ") + found[k].string();
    throw DataError(list + ": more than one file holds the " + std::string(table) +
                    " table; keep one (a table is read from exactly one file)");
  }
  return {found[0], csv_format_for(found[0], delimiter)};
}

}  // namespace ftmamba::data
