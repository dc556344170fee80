// defines: read_csv (every row of a CsvStream, kept in a CsvTable), CsvTable's column lookup, the strict
// number parser used for every numeric cell and the quoting of cell text in messages.
#include "ftmamba/data/csv.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "ftmamba/core/error.h"
#include "ftmamba/core/printable.h"
#include "ftmamba/data/csv_detail.h"
#include "ftmamba/data/csv_stream.h"

namespace ftmamba::data {

std::string quote_for_message(std::string_view text) {
  constexpr size_t kMax = 60;
  size_t k = text.size();
  if (k > kMax) {
    k = kMax;  // not inside a multi-byte character
    while (k > 0 && (static_cast<unsigned char>(text[k]) & 0xC0) == 0x80) --k;
  }
  std::string out(1, '\'');
  out.append(printable(text.substr(0, k)));
  if (k < text.size()) out.append("...");
  out.push_back('\'');
  return out;
}

bool try_parse_number(std::string_view text, std::optional<double>& out, std::string& why) {
  out.reset();
  const auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  if (text.empty()) return true;
  const auto bad = [&] {
    why = "not a number: " + quote_for_message(text);
    return false;
  };
  std::string_view body = text;
  if (body.front() == '+') {  // from_chars accepts '-' only
    body.remove_prefix(1);
    if (body.empty() || body.front() == '+' || body.front() == '-') return bad();
  }
  double v = 0.0;
  const char* end = body.data() + body.size();
  const auto res = std::from_chars(body.data(), end, v);
  if (res.ec == std::errc::invalid_argument || res.ptr != end) return bad();
  if (res.ec == std::errc::result_out_of_range) {
    // Overflow is an error; underflow rounds towards zero like strtod does.
    const std::string copy(body);
    errno = 0;
    v = std::strtod(copy.c_str(), nullptr);
    if (std::isinf(v)) {
      why = "number out of range: " + quote_for_message(text);
      return false;
    }
  }
  if (!std::isfinite(v)) {
    why = "not a finite number: " + quote_for_message(text);
    return false;
  }
  if (std::fabs(v) > kMaxAbsNumber) {
    why = "number beyond the supported range (|x| <= 1e30): " + quote_for_message(text);
    return false;
  }
  out = v;
  return true;
}

int CsvTable::column(const std::string& name) const {
  if (const auto c = find_column(name)) return *c;
  throw DataError(path, 1, "",
                  "missing column '" + name + "' (the header has: " + csv_detail::join_names(header) + ")");
}

std::optional<int> CsvTable::find_column(const std::string& name) const {
  const auto it = std::find(header.begin(), header.end(), name);
  if (it == header.end()) return std::nullopt;
  return static_cast<int>(it - header.begin());
}

CsvTable read_csv(const std::filesystem::path& path) { return read_csv(path, csv_format_for(path)); }

CsvTable read_csv(const std::filesystem::path& path, const CsvFormat& format) {
  CsvStream in(path, format);  // the header is checked here
  CsvTable t;
  t.path = in.path();
  t.header = in.header();
  const size_t width = t.header.size();
  for (;;) {
    std::vector<std::string> row;
    row.reserve(width);
    if (!in.next(row)) break;
    t.rows.push_back(std::move(row));
    t.line_of_row.push_back(in.line());
    // Once 256 rows are in, the file size tells the row count closely enough to reserve it: regrowing a
    // 400k-row table twice over costs more than the estimate's slack.
    if (t.rows.size() == 256) {
      const auto rows = static_cast<size_t>(1.05 * static_cast<double>(in.estimated_rows()));
      t.rows.reserve(rows);
      t.line_of_row.reserve(rows);
    }
  }
  return t;
}

std::optional<double> parse_number(const CsvTable& t, int64_t row, int col) {
  if (row < 0 || row >= t.size() || col < 0 || col >= static_cast<int>(t.header.size())) {
    throw Error(t.path + ": cell (" + std::to_string(row) + ", " + std::to_string(col) + ") is out of range");
  }
  std::optional<double> out;
  std::string why;
  if (!try_parse_number(t.rows[row][col], out, why)) {
    const std::string& name = t.header[col];
    throw DataError(t.path, t.line_of_row[row], name.empty() ? std::to_string(col + 1) : name, why);
  }
  return out;
}

}  // namespace ftmamba::data
