// defines: read_csv (a one-pass RFC 4180 reader with UTF-8 validation), CsvTable's column lookup and
// the strict number parser used for every numeric cell.
#include "ftmamba/data/csv.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unordered_set>

#include "ftmamba/core/error.h"
#include "ftmamba/data/csv_detail.h"

namespace ftmamba::data {
namespace {

namespace fs = std::filesystem;

// Reads a whole file into memory; parsing one contiguous buffer is far faster than stream extraction.
std::string read_whole_file(const fs::path& path) {
  const std::string name = path.string();
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) throw DataError(name + ": file not found");
  if (fs::is_directory(st)) throw DataError(name + ": is a directory, expected a CSV file");
  std::FILE* f = std::fopen(name.c_str(), "rb");
  if (f == nullptr) throw DataError(name + ": cannot open file: " + std::strerror(errno));
  std::string data;
  const uintmax_t size = fs::file_size(path, ec);
  if (!ec) data.reserve(static_cast<size_t>(size));
  char buf[1 << 16];
  size_t got = 0;
  while ((got = std::fread(buf, 1, sizeof buf, f)) > 0) data.append(buf, got);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) throw DataError(name + ": cannot read file");
  return data;
}

// One pass over the buffer, one record at a time. Tracks the physical line so that every error can
// name it, and the header so that errors can name the column.
class Parser {
 public:
  Parser(std::string path, const std::string& data) : path_(std::move(path)), data_(data) {
    // A UTF-8 byte order mark is not part of the first column's name.
    if (data_.size() >= 3 && data_.compare(0, 3, "\xEF\xBB\xBF") == 0) pos_ = 3;
    line_start_ = pos_;
  }

  void set_header(const std::vector<std::string>* header) { header_ = header; }
  int64_t line() const { return line_; }

  // Reads the next record into `out`; false at end of input. Blank lines are skipped.
  bool next(std::vector<std::string>& out, int64_t& record_line) {
    const size_t n = data_.size();
    while (pos_ < n) {
      if (data_[pos_] == '\n') {
        new_line(pos_ + 1);
      } else if (data_[pos_] == '\r' && pos_ + 1 < n && data_[pos_ + 1] == '\n') {
        new_line(pos_ + 2);
      } else {
        break;
      }
    }
    if (pos_ >= n) return false;
    record_line = line_;
    for (;;) {
      const size_t col = out.size();
      out.emplace_back();
      if (pos_ < n && data_[pos_] == '"') {
        quoted_field(out.back(), col);
      } else {
        unquoted_field(out.back(), col);
      }
      if (pos_ >= n) return true;
      const char c = data_[pos_];
      if (c == ',') {
        ++pos_;
        continue;
      }
      if (c == '\n') {
        new_line(pos_ + 1);
      } else if (pos_ + 1 < n && data_[pos_ + 1] == '\n') {  // c == '\r'
        new_line(pos_ + 2);
      } else if (pos_ + 1 == n) {  // a final bare CR ends the file
        pos_ = n;
      } else {
        fail(line_, col, "carriage return not followed by a line feed (byte " + byte_in_line() + " of the line)");
      }
      return true;
    }
  }

  [[noreturn]] void fail(int64_t line, size_t col, const std::string& what) const {
    throw DataError(path_, line, column_name(col), what);
  }

 private:
  void new_line(size_t next) {
    ++line_;
    pos_ = next;
    line_start_ = next;
  }

  std::string byte_in_line() const { return std::to_string(pos_ - line_start_ + 1); }

  std::string column_name(size_t col) const {
    if (header_ != nullptr && col < header_->size() && !(*header_)[col].empty()) return (*header_)[col];
    return std::to_string(col + 1);
  }

  // Validates the (non-ASCII) sequence at pos_ and returns its length; throws on a bad byte.
  size_t check_utf8(size_t col) const {
    const char* why = "";
    const auto* p = reinterpret_cast<const unsigned char*>(data_.data()) + pos_;
    const int len = csv_detail::utf8_sequence_length(p, data_.size() - pos_, why);
    if (len < 0) why = "truncated multi-byte sequence";  // the data ends inside the sequence
    if (len <= 0) {
      fail(line_, col,
           std::string("invalid UTF-8 (") + why + ", byte " + csv_detail::hex_byte(*p) + " at byte " + byte_in_line() +
               " of the line)");
    }
    return len;
  }

  void unquoted_field(std::string& field, size_t col) {
    const size_t n = data_.size();
    const size_t start = pos_;
    while (pos_ < n) {
      const auto c = static_cast<unsigned char>(data_[pos_]);
      if (c == ',' || c == '\n' || c == '\r') break;
      if (c == '"') {
        fail(line_, col,
             "quote inside an unquoted field (byte " + byte_in_line() +
                 " of the line); quote the whole field and double inner quotes");
      }
      pos_ += c < 0x80 ? 1 : check_utf8(col);
    }
    field.assign(data_, start, pos_ - start);
  }

  void quoted_field(std::string& field, size_t col) {
    const size_t n = data_.size();
    const int64_t open_line = line_;
    ++pos_;             // opening quote
    size_t run = pos_;  // start of the bytes not yet copied into `field`
    for (;;) {
      if (pos_ >= n) fail(open_line, col, "unterminated quoted field (the quote opened here is never closed)");
      const auto c = static_cast<unsigned char>(data_[pos_]);
      if (c == '"') {
        field.append(data_, run, pos_ - run);
        if (pos_ + 1 < n && data_[pos_ + 1] == '"') {  // "" is an escaped quote
          field.push_back('"');
          pos_ += 2;
          run = pos_;
          continue;
        }
        ++pos_;
        break;
      }
      if (c == '\n') {
        ++line_;
        line_start_ = pos_ + 1;
        ++pos_;
      } else {
        pos_ += c < 0x80 ? 1 : check_utf8(col);
      }
    }
    if (pos_ < n && data_[pos_] != ',' && data_[pos_] != '\n' && data_[pos_] != '\r') {
      fail(line_, col, "unexpected character after a closing quote (byte " + byte_in_line() + " of the line)");
    }
  }

  std::string path_;
  const std::string& data_;
  const std::vector<std::string>* header_ = nullptr;
  size_t pos_ = 0;
  size_t line_start_ = 0;
  int64_t line_ = 1;
};

}  // namespace

namespace csv_detail {

int utf8_sequence_length(const unsigned char* p, size_t avail, const char*& why) {
  const unsigned char b = p[0];
  int len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b < 0x80) return 1;
  if (b < 0xC2) {
    why = b < 0xC0 ? "unexpected continuation byte" : "overlong encoding";
    return 0;
  }
  if (b < 0xE0) {
    len = 2;
  } else if (b < 0xF0) {
    len = 3;
    if (b == 0xE0) lo = 0xA0;  // below is overlong
    if (b == 0xED) hi = 0x9F;  // above is a UTF-16 surrogate
  } else if (b < 0xF5) {
    len = 4;
    if (b == 0xF0) lo = 0x90;  // below is overlong
    if (b == 0xF4) hi = 0x8F;  // above is beyond U+10FFFF
  } else {
    why = "byte that never occurs in UTF-8";
    return 0;
  }
  for (int k = 1; k < len; ++k) {
    if (static_cast<size_t>(k) >= avail) return -1;
    const unsigned char lo_k = k == 1 ? lo : 0x80, hi_k = k == 1 ? hi : 0xBF;
    if (p[k] >= lo_k && p[k] <= hi_k) continue;
    const bool continuation = p[1] >= 0x80 && p[1] <= 0xBF;
    if (k == 1 && continuation && (b == 0xE0 || b == 0xF0))
      why = "overlong encoding";
    else if (k == 1 && continuation && b == 0xED)
      why = "UTF-16 surrogate";
    else if (k == 1 && continuation && b == 0xF4)
      why = "code point above U+10FFFF";
    else
      why = "truncated multi-byte sequence";
    return 0;
  }
  return len;
}

std::string hex_byte(unsigned char b) {
  static const char* digits = "0123456789ABCDEF";
  return std::string("0x") + digits[b >> 4] + digits[b & 15];
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (size_t k = 0; k < names.size(); ++k) {
    if (k > 0) out += ", ";
    out += names[k];
  }
  return out;
}

}  // namespace csv_detail

std::string quote_for_message(std::string_view text) {
  constexpr size_t kMax = 60;
  std::string out = "'";
  size_t k = 0;
  for (; k < text.size() && k < kMax; ++k) {
    const auto c = static_cast<unsigned char>(text[k]);
    if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else if (c < 0x20 || c == 0x7F)
      out += "\\x" + csv_detail::hex_byte(c).substr(2);
    else
      out += static_cast<char>(c);
  }
  if (k < text.size()) {
    // Do not end the message inside a multi-byte character.
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
    if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xC0) out.pop_back();
    out += "...";
  }
  return out + "'";
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

CsvTable read_csv(const std::filesystem::path& path) {
  const std::string data = read_whole_file(path);
  CsvTable t;
  t.path = path.string();
  Parser parser(t.path, data);
  int64_t line = 1;
  if (!parser.next(t.header, line)) throw DataError(t.path, 1, "", "empty file: expected a header row");
  std::unordered_set<std::string> seen;
  for (size_t c = 0; c < t.header.size(); ++c) {
    // Column names appear in every later message, which must stay on one line.
    const bool control = std::any_of(t.header[c].begin(), t.header[c].end(),
                                     [](char ch) { return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7F; });
    if (control) {
      throw DataError(t.path, line, std::to_string(c + 1),
                      "column name " + quote_for_message(t.header[c]) + " contains a control character");
    }
    if (!seen.insert(t.header[c]).second) {
      throw DataError(t.path, line, std::to_string(c + 1), "duplicate column name '" + t.header[c] + "'");
    }
  }
  parser.set_header(&t.header);

  // One record per line in the common case; reserving avoids regrowing a 200k-entry vector.
  const auto lines = static_cast<size_t>(std::count(data.begin(), data.end(), '\n'));
  t.rows.reserve(lines);
  t.line_of_row.reserve(lines);
  const size_t width = t.header.size();
  for (;;) {
    std::vector<std::string> row;
    row.reserve(width);
    if (!parser.next(row, line)) break;
    if (row.size() < width) {
      parser.fail(line, row.size(),
                  "row has " + std::to_string(row.size()) + " fields but the header has " + std::to_string(width) +
                      " (no value for '" + t.header[row.size()] + "')");
    }
    if (row.size() > width) {
      parser.fail(line, width,
                  "row has " + std::to_string(row.size()) + " fields but the header has " + std::to_string(width));
    }
    t.rows.push_back(std::move(row));
    t.line_of_row.push_back(line);
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
