// defines: TableFile and find_table_file, the one place that knows which file of a dataset folder holds a table:
// NAME.csv, NAME.tsv, NAME.csv.gz or NAME.tsv.gz, exactly one of them, and the CsvFormat it is read with.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ftmamba/data/csv_format.h"

namespace ftmamba::data {

struct TableFile {
  std::filesystem::path path;  // the file found, named in every message about its rows
  CsvFormat format;
};

// The names a table's file may have, in the order messages list them: NAME.csv, NAME.tsv, NAME.csv.gz, NAME.tsv.gz.
std::vector<std::string> table_file_names(std::string_view table);

// Those of table_file_names(table) that exist in `dir` (anything by that name: a FIFO is refused when read).
std::vector<std::filesystem::path> existing_table_files(const std::filesystem::path& dir, std::string_view table);

// The one file of `dir` that holds `table` ("users", "items", "interactions"), with its format: csv_format_for
// its name and `delimiter` (schema.toml's [csv] delimiter, when set). Throws DataError "DIR/users.csv: file not
// found (nor users.tsv, users.csv.gz, users.tsv.gz)" when none exists, and one naming both files when two do.
TableFile find_table_file(const std::filesystem::path& dir, std::string_view table,
                          std::optional<char> delimiter = std::nullopt);

}  // namespace ftmamba::data
