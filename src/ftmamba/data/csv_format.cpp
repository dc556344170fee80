// defines: csv_format_for, delimiter_problem and describe_delimiter (see csv_format.h).
#include "ftmamba/data/csv_format.h"

#include <string_view>

#include "ftmamba/core/printable.h"

namespace ftmamba::data {
CsvFormat csv_format_for(const std::filesystem::path& file, std::optional<char> delimiter) {
  const std::string filename = file.filename().string();
  std::string_view name = filename;
  CsvFormat f;
  f.gzip = name.ends_with(".gz");
  if (f.gzip) name.remove_suffix(3);
  f.delimiter = delimiter ? *delimiter : name.ends_with(".tsv") ? '\t' : ',';
  return f;
}

std::string delimiter_problem(const std::string& text) {
  if (text.size() != 1 || static_cast<unsigned char>(text[0]) >= 0x80) {
    std::string why = "a delimiter is one ASCII character (such as \",\", \";\", \"|\" or \"\\t\"), got ";
    if (text.empty()) return why.append("an empty string");
    return why.append("'").append(printable(text)).append("'");
  }
  if (text[0] == '"') return "the quote character cannot be the delimiter (it quotes fields)";
  if (text[0] == '\n' || text[0] == '\r') return "a line end cannot be the delimiter (it ends rows)";
  return "";
}

std::string describe_delimiter(char delimiter) {
  if (delimiter == '\t') return "tab";
  std::string out = "'";
  return out.append(printable(std::string_view(&delimiter, 1))).append("'");
}

}  // namespace ftmamba::data
