// defines: ColumnProfile and profile_table, what the first rows of a CSV file say about each of its columns
// (empty cells, numbers, whole numbers, ISO dates, distinct values, how cells split on the multi-valued
// separators): the evidence from which schema_infer.h decides each column's role.
#pragma once
#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace ftmamba::data {

// A numeric column with at most this many distinct whole numbers may be a column of codes (0/1, 1..5).
inline constexpr size_t kMaxCodeValues = 20;

// The separators a multi-valued cell is looked for with, in order of preference.
inline constexpr std::array<const char*, 3> kMultiValuedSeparators = {"|", ";", ","};

// A cell quoted in a reason: its line and (shortened) text.
struct CellExample {
  int64_t line = 0;
  std::string text;
};

// How the column's cells split on one separator (split_values, multi_valued.h).
struct SeparatorProfile {
  std::string separator;
  int64_t cells_with = 0;       // non-empty cells holding the separator
  int64_t values = 0;           // values of all non-empty cells once split (a cell without it is one value)
  int64_t distinct_values = 0;  // distinct values once split
  int64_t most_values = 0;      // the most values one cell holds
  CellExample widest;           // the cell holding most_values
};

struct ColumnProfile {
  std::string name;
  int index = 0;                 // position in the header
  int64_t non_empty = 0;         // cells that are not ""
  int64_t numbers = 0;           // non-empty cells that parse as numbers (try_parse_number)
  int64_t integers = 0;          // numbers that are whole
  int64_t iso_dates = 0;         // non-empty cells that are ISO dates or date-times (parse_timestamp), not numbers
  int64_t with_time = 0;         // iso_dates that carry a time of day
  int64_t distinct = 0;          // distinct non-empty cells, as text
  double min = 0, max = 0;       // of the numbers
  CellExample min_cell;          // where min is
  std::set<double> few_numbers;  // the distinct numbers while there are at most kMaxCodeValues + 1
  std::optional<CellExample> first_text;     // the first non-empty cell that is not a number
  std::optional<CellExample> first_empty;    // the first empty cell
  std::vector<SeparatorProfile> separators;  // one per kMultiValuedSeparators entry that some cell holds
  std::vector<uint64_t> value_hashes;        // sorted hashes of the distinct non-empty cells

  bool all_numbers() const { return non_empty > 0 && numbers == non_empty; }
  bool all_iso_dates() const { return non_empty > 0 && iso_dates == non_empty; }
};

struct TableProfile {
  std::string path;        // as given, for messages
  std::string file_name;   // "users.csv", for the decisions
  int64_t rows = 0;        // rows read
  bool more_rows = false;  // the file goes on past the rows read (perhaps with blank lines only)
  std::vector<ColumnProfile> columns;
};

// Reads at most `max_rows` rows of the file through CsvStream (so a malformed row among them is a DataError
// naming file, line and column) and profiles every column. Throws DataError for a table without rows.
TableProfile profile_table(const std::filesystem::path& csv_path, int64_t max_rows);

// How many of b's distinct values are also values of a (compared as hashes of the text).
int64_t shared_values(const ColumnProfile& a, const ColumnProfile& b);

}  // namespace ftmamba::data
