// defines: CsvTable and read_csv, a whole CSV file in memory as CsvStream (csv_stream.h) reads it (header
// row, quoted fields with embedded delimiters, quotes and newlines, CRLF or LF, UTF-8 checked, errors as
// FILE:LINE:COLUMN); the number parser for cells, message quoting, and format_csv_row for writing.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ftmamba/data/csv_format.h"

namespace ftmamba::data {

struct CsvTable {
  std::string path;                            // as given, used in error messages
  std::vector<std::string> header;             // column names, in file order
  std::vector<std::vector<std::string>> rows;  // rows[r][c]; "" is a missing value
  std::vector<int64_t> line_of_row;            // 1-based physical line where row r starts (header = 1)

  // Index of a column by name; throws DataError "PATH:1: missing column 'NAME'" when absent.
  int column(const std::string& name) const;
  std::optional<int> find_column(const std::string& name) const;
  int64_t size() const { return static_cast<int64_t>(rows.size()); }
};

// Reads every row of the file through CsvStream. Throws DataError on: missing/unreadable file, empty file (no header),
// a ragged row (wrong field count), an unterminated quote, stray characters after a closing quote,
// a non-UTF-8 byte, duplicate header names. An empty table (header but no rows) is allowed here;
// callers decide whether that is an error. The format is csv_format_for(path) unless given.
CsvTable read_csv(const std::filesystem::path& path, const CsvFormat& format);
CsvTable read_csv(const std::filesystem::path& path);

// Parses a numeric cell. Returns nullopt for "" (missing). Throws DataError naming file, line and
// column for text that is not a number, and for NaN / Inf.
std::optional<double> parse_number(const CsvTable& t, int64_t row, int col);

// The largest magnitude a number read from data (a feature, a timestamp, a weight) or given as a new user's
// feature may have (docs/CONFIGURATION.md, "Limits of the data files"). Beyond it, float32 arithmetic in the towers
// overflows to inf and NaN, so such a value is refused where it is read, naming its feature or cell.
inline constexpr double kMaxAbsNumber = 1e30;

// The number parser behind parse_number, for text that is not a CSV cell. Surrounding spaces and a
// leading '+' are allowed. Returns false and sets `why` for text that is not a finite number
// (including "nan", "inf" and overflow such as "1e999") or is beyond +-kMaxAbsNumber; sets `out` to
// nullopt for "".
bool try_parse_number(std::string_view text, std::optional<double>& out, std::string& why);

// A cell value made safe for a one-line error message: control characters escaped, long text cut.
std::string quote_for_message(std::string_view text);

// Writes a CSV, quoting fields that need it (comma, quote, CR/LF, leading/trailing space).
std::string format_csv_row(const std::vector<std::string>& fields);

}  // namespace ftmamba::data
