// defines: profile_table (one pass over a CSV file's first rows, keeping per column counts and 8-byte hashes of
// the cells, never the cells themselves) and shared_values.
#include "ftmamba/data/column_profile.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <string_view>

#include "ftmamba/core/error.h"
#include "ftmamba/data/csv.h"
#include "ftmamba/data/csv_stream.h"
#include "ftmamba/data/multi_valued.h"
#include "ftmamba/data/timestamp.h"

namespace ftmamba::data {
namespace {

uint64_t hash_text(std::string_view s) { return std::hash<std::string_view>{}(s); }

size_t count_distinct(std::vector<uint64_t>& hashes) {
  std::sort(hashes.begin(), hashes.end());
  hashes.erase(std::unique(hashes.begin(), hashes.end()), hashes.end());
  return hashes.size();
}

CellExample example(int64_t line, std::string_view text) { return {line, quote_for_message(text)}; }

// The split values of one separator, kept only once some cell holds that separator.
struct SeparatorBuilder {
  SeparatorProfile profile;
  std::vector<uint64_t> hashes;  // of every value of every non-empty cell
};

class ColumnBuilder {
 public:
  ColumnBuilder(std::string name, int index) {
    p_.name = std::move(name);
    p_.index = index;
  }

  void add(const std::string& cell, int64_t line) {
    if (cell.empty()) {
      if (!p_.first_empty) p_.first_empty = CellExample{line, ""};
      return;
    }
    const uint64_t h = hash_text(cell);
    ++p_.non_empty;
    cells_.push_back(h);
    add_number_or_date(cell, line);
    for (const char* sep : kMultiValuedSeparators) add_split(cell, h, sep, line);
  }

  ColumnProfile finish() {
    p_.distinct = static_cast<int64_t>(count_distinct(cells_));
    p_.value_hashes = std::move(cells_);
    for (const char* sep : kMultiValuedSeparators) {
      auto it = split_.find_if_present(sep);
      if (it == nullptr) continue;
      it->profile.distinct_values = static_cast<int64_t>(count_distinct(it->hashes));
      p_.separators.push_back(it->profile);
    }
    return std::move(p_);
  }

 private:
  // A small map from separator to its builder: there are only kMultiValuedSeparators.size() of them.
  struct Splits {
    std::vector<SeparatorBuilder> entries;
    SeparatorBuilder* find_if_present(std::string_view sep) {
      for (auto& e : entries)
        if (e.profile.separator == sep) return &e;
      return nullptr;
    }
  };

  void add_number_or_date(const std::string& cell, int64_t line) {
    std::optional<double> v;
    std::string why;
    if (try_parse_number(cell, v, why) && v) {
      if (p_.numbers == 0 || *v < p_.min) {
        p_.min = *v;
        p_.min_cell = example(line, cell);
      }
      p_.max = p_.numbers == 0 ? *v : std::max(p_.max, *v);
      ++p_.numbers;
      if (std::floor(*v) == *v) ++p_.integers;
      if (p_.few_numbers.size() <= kMaxCodeValues) p_.few_numbers.insert(*v);
      return;
    }
    if (!p_.first_text) p_.first_text = example(line, cell);
    if (parse_timestamp(cell)) {
      ++p_.iso_dates;
      // "YYYY-MM-DD" is ten characters; anything parse_timestamp accepts beyond it is a time of day.
      std::string_view s(cell);
      while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
      while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
      if (s.size() > 10) ++p_.with_time;
    }
  }

  void add_split(const std::string& cell, uint64_t cell_hash, const char* sep, int64_t line) {
    SeparatorBuilder* b = split_.find_if_present(sep);
    const bool holds = cell.find(sep) != std::string::npos;
    if (b == nullptr) {
      if (!holds) return;
      // The first cell holding this separator: every earlier cell was one value, its whole text.
      split_.entries.push_back(SeparatorBuilder{SeparatorProfile{sep, 0, 0, 0, 0, {}}, {}});
      b = &split_.entries.back();
      b->hashes.assign(cells_.begin(), cells_.end() - 1);
      b->profile.values = static_cast<int64_t>(b->hashes.size());
    }
    if (!holds) {
      b->hashes.push_back(cell_hash);
      ++b->profile.values;
      return;
    }
    ++b->profile.cells_with;
    const std::vector<std::string> values = split_values(cell, sep);
    for (const auto& v : values) b->hashes.push_back(hash_text(v));
    const auto n = static_cast<int64_t>(values.size());
    b->profile.values += n;
    if (n > b->profile.most_values) {
      b->profile.most_values = n;
      b->profile.widest = example(line, cell);
    }
  }

  ColumnProfile p_;
  std::vector<uint64_t> cells_;  // hashes of the non-empty cells, in file order until finish()
  Splits split_;
};

}  // namespace

TableProfile profile_table(const std::filesystem::path& csv_path, int64_t max_rows) {
  if (max_rows <= 0) throw Error("the number of rows to read must be positive, got " + std::to_string(max_rows));
  CsvStream in(csv_path);
  TableProfile t;
  t.path = in.path();
  t.file_name = csv_path.filename().string();
  std::vector<ColumnBuilder> columns;
  columns.reserve(in.header().size());
  for (size_t c = 0; c < in.header().size(); ++c) columns.emplace_back(in.header()[c], static_cast<int>(c));
  std::vector<std::string> row;
  while (t.rows < max_rows && in.next(row)) {
    ++t.rows;
    for (size_t c = 0; c < columns.size(); ++c) columns[c].add(row[c], in.line());
  }
  if (t.rows == 0) throw DataError(t.path, 2, "", "table has no rows, only a header");
  // Not another next(): a malformed row past the sample must not fail a run that was told to stop before it.
  t.more_rows = t.rows == max_rows && in.bytes_read() < in.file_size();
  for (auto& c : columns) t.columns.push_back(c.finish());
  return t;
}

int64_t shared_values(const ColumnProfile& a, const ColumnProfile& b) {
  int64_t shared = 0;
  for (const uint64_t h : b.value_hashes)
    if (std::binary_search(a.value_hashes.begin(), a.value_hashes.end(), h)) ++shared;
  return shared;
}

}  // namespace ftmamba::data
