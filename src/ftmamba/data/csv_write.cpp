// defines: format_csv_row, the writing half of the CSV format (RFC 4180 quoting).
#include <string>
#include <vector>

#include "ftmamba/data/csv.h"

namespace ftmamba::data {

namespace {
bool needs_quotes(const std::string& f) {
  if (f.empty()) return false;
  if (f.front() == ' ' || f.back() == ' ') return true;
  return f.find_first_of(",\"\r\n") != std::string::npos;
}
}  // namespace

std::string format_csv_row(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out += ',';
    const std::string& f = fields[i];
    if (!needs_quotes(f)) {
      out += f;
      continue;
    }
    out += '"';
    for (char c : f) {
      if (c == '"') out += '"';  // a quote inside a quoted field is doubled
      out += c;
    }
    out += '"';
  }
  out += '\n';
  return out;
}

}  // namespace ftmamba::data
