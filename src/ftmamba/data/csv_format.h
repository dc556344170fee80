// defines: CsvFormat, how a table file's bytes are read (the field delimiter, gzip or not), and the rules that pick
// it: from the file's name (.tsv is tab-separated, .gz is gzip) unless schema.toml's [csv] delimiter says otherwise.
#pragma once
#include <filesystem>
#include <optional>
#include <string>

namespace ftmamba::data {

struct CsvFormat {
  char delimiter = ',';  // any ASCII character but '"', CR and LF
  bool gzip = false;     // the file is a gzip stream of the CSV text
};

// The format a file's name implies: NAME.tsv and NAME.tsv.gz are tab-separated, anything else comma-separated;
// a name ending in .gz is gzip. A given `delimiter` (schema.toml's [csv] delimiter) wins over the name's.
CsvFormat csv_format_for(const std::filesystem::path& file, std::optional<char> delimiter = std::nullopt);

// Why `text` cannot be a delimiter ("" when it can): it must be one ASCII character, neither a quote nor a line end.
std::string delimiter_problem(const std::string& text);

// A delimiter as a message shows it: "','", "tab", "'\\x01'".
std::string describe_delimiter(char delimiter);

}  // namespace ftmamba::data
