// defines: CsvStream's state machine, the one CSV tokenizer of the project. A record is parsed from the
// buffer as a whole; when it runs past the bytes read so far, the unread tail is moved to the front, more
// is read, and the record is parsed again from its start (records are short, so re-parsing costs nothing
// measurable).
#include "ftmamba/data/csv_stream.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_set>

#include "ftmamba/core/error.h"
#include "ftmamba/data/csv.h"
#include "ftmamba/data/csv_detail.h"

namespace ftmamba::data {

namespace fs = std::filesystem;

CsvStream::CsvStream(const fs::path& path, size_t buffer_bytes) : CsvStream(path, csv_format_for(path), buffer_bytes) {}

CsvStream::CsvStream(const fs::path& path, const CsvFormat& format, size_t buffer_bytes)
    : path_(path.string()), format_(format) {
  if (const std::string why = delimiter_problem(std::string(1, format.delimiter)); !why.empty())
    throw Error(path_ + ": " + why);
  for (int b = 0x80; b < 256; ++b) special_[b] = true;  // checked as UTF-8
  special_[static_cast<unsigned char>(format.delimiter)] = special_['\n'] = special_['\r'] = special_['"'] = true;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) throw DataError(path_ + ": file not found");
  if (fs::is_directory(st)) throw DataError(path_ + ": is a directory, expected a CSV file");
  try {
    source_ = std::make_unique<io::ByteReader>(path, format.gzip);  // a FIFO or device is refused, never waited on
  } catch (const Error& e) {
    throw DataError(e.what());
  }
  file_size_ = source_->file_size();
  // A small plain file gets a buffer of its own size: read_csv opens many small files, and fresh memory is dear.
  // A gzip file's text is longer than the file by a factor only reading tells.
  if (!format.gzip && file_size_ < buffer_bytes) buffer_bytes = static_cast<size_t>(file_size_) + 1;
  buf_.resize(std::max<size_t>(buffer_bytes, 4));
  fill();
  // A UTF-8 byte order mark is not part of the first column's name.
  while (end_ < 3 && fill()) {
  }
  if (end_ >= 3 && std::memcmp(buf_.data(), "\xEF\xBB\xBF", 3) == 0) {
    pos_ = 3;
    line_start_ = 3;
  }
  if (!read_record(header_)) throw DataError(path_, 1, "", "empty file: expected a header row");
  std::unordered_set<std::string> seen;
  for (size_t c = 0; c < header_.size(); ++c) {
    const bool control = std::any_of(header_[c].begin(), header_[c].end(),
                                     [](char ch) { return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7F; });
    std::string why;
    if (control) why = "column name " + quote_for_message(header_[c]) + " contains a control character";
    if (why.empty() && !seen.insert(header_[c]).second) why = "duplicate column name '" + header_[c] + "'";
    if (!why.empty()) throw DataError(path_, record_line_, std::to_string(c + 1), why);
  }
  have_header_ = true;
  header_end_ = file_bytes_read();
}

int64_t CsvStream::estimated_rows() const {
  const uint64_t done = file_bytes_read();
  if (rows_ == 0 || done <= header_end_ || file_size_ <= done) return rows_;
  const double per_row = static_cast<double>(done - header_end_) / static_cast<double>(rows_);
  return rows_ + static_cast<int64_t>(std::ceil(static_cast<double>(file_size_ - done) / per_row));
}

int CsvStream::column(const std::string& name) const {
  if (const auto c = find_column(name)) return *c;
  throw DataError(path_, 1, "",
                  "missing column '" + name + "' (the header has: " + csv_detail::join_names(header_) + ")");
}

std::optional<int> CsvStream::find_column(const std::string& name) const {
  const auto it = std::find(header_.begin(), header_.end(), name);
  if (it == header_.end()) return std::nullopt;
  return static_cast<int>(it - header_.begin());
}

std::string CsvStream::column_name(size_t col) const {
  if (have_header_ && col < header_.size() && !header_[col].empty()) return header_[col];
  return std::to_string(col + 1);
}

void CsvStream::fail_at(int64_t line, size_t col, const std::string& what) const {
  throw DataError(path_, line, column_name(col), what);
}

void CsvStream::field_too_long(int64_t line, size_t col) const {
  fail_at(line, col, "field longer than " + std::to_string(kCsvMaxFieldBytes >> 20) + " MiB (the limit on one field)");
}

void CsvStream::fail(int col, const std::string& what) const {
  fail_at(record_line_, static_cast<size_t>(std::max(col, 0)), what);
}

bool CsvStream::fill() {
  if (eof_) return false;
  if (pos_ > 0) {
    std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
    base_ += pos_;
    end_ -= pos_;
    pos_ = 0;
  }
  if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);  // one record longer than the buffer
  size_t got = 0;
  try {
    // One read may return less than asked (gzip gives what one inflate step makes): fill the buffer, so that a
    // record is parsed again only when it did not fit.
    while (end_ < buf_.size()) {
      const size_t n = source_->read(buf_.data() + end_, buf_.size() - end_);
      if (n == 0) break;
      end_ += n;
      got += n;
    }
  } catch (const DataError&) {
    throw;
  } catch (const Error& e) {
    throw DataError(e.what());  // a read error, or corrupt or truncated gzip data
  }
  if (got == 0) {
    eof_ = true;
    return false;
  }
  return true;
}

bool CsvStream::skip_blank_lines() {
  for (;;) {
    if (pos_ == end_ && !fill()) return false;
    const char c = buf_[pos_];
    if (c == '\n') {
      ++pos_;
    } else if (c == '\r') {
      if (pos_ + 1 == end_ && !eof_) {
        fill();
        continue;
      }
      if (pos_ + 1 == end_ || buf_[pos_ + 1] != '\n') return true;  // parse() reports or ends on it
      pos_ += 2;
    } else {
      return true;
    }
    ++line_;
    line_start_ = base_ + pos_;
  }
}

CsvStream::Step CsvStream::parse(std::vector<std::string>& out, size_t& fields) {
  const char* const buf = buf_.data();
  const auto* const ubuf = reinterpret_cast<const unsigned char*>(buf);
  const size_t end = end_;
  const char delimiter = format_.delimiter;
  const std::array<bool, 256>& special = special_;
  size_t p = pos_;
  int64_t line = line_;
  uint64_t line_start = line_start_;
  fields = 0;
  // Messages give the byte within the physical line, as read_csv does.
  const auto byte_in_line = [&](size_t at) { return std::to_string(base_ + at - line_start + 1); };
  const auto check_utf8 = [&](size_t at, size_t col) -> int {
    const char* why = "";
    const int len = csv_detail::utf8_sequence_length(ubuf + at, end - at, why);
    if (len < 0 && eof_) why = "truncated multi-byte sequence";
    if (len == 0 || (len < 0 && eof_)) {
      fail_at(line, col,
              std::string("invalid UTF-8 (") + why + ", byte " + csv_detail::hex_byte(ubuf[at]) + " at byte " +
                  byte_in_line(at) + " of the line)");
    }
    return len;
  };
  // A header keeps up to kCsvMaxColumns fields; a row keeps the header's width and only counts any more, so
  // that a line of delimiters costs no memory.
  const size_t kept = have_header_ ? header_.size() : kCsvMaxColumns;
  for (;;) {
    const size_t col = fields;
    if (fields == kept && !have_header_)
      fail_at(line, col, "the header has more than " + std::to_string(kCsvMaxColumns) + " columns (the limit)");
    if (fields < kept && fields == out.size()) out.emplace_back();
    std::string& field = fields < kept ? out[fields] : overflow_field_;
    ++fields;
    field.clear();
    if (p < end && buf[p] == '"') {
      const int64_t open_line = line;
      size_t run = ++p;
      for (;;) {
        if (p >= end) {
          if (!eof_) return Step::kNeedMore;
          fail_at(open_line, col, "unterminated quoted field (the quote opened here is never closed)");
        }
        const unsigned char c = ubuf[p];
        if (c == '"') {
          if (p + 1 >= end && !eof_) return Step::kNeedMore;  // "" or the closing quote?
          field.append(buf + run, p - run);
          if (p + 1 < end && buf[p + 1] == '"') {
            field.push_back('"');
            p += 2;
            run = p;
            continue;
          }
          ++p;
          break;
        }
        if (p - run + field.size() >= kCsvMaxFieldBytes) field_too_long(line, col);  // this byte would pass it
        if (c == '\n') {
          ++line;
          line_start = base_ + p + 1;
          ++p;
        } else if (c < 0x80) {
          ++p;
        } else {
          const int len = check_utf8(p, col);
          if (len < 0) return Step::kNeedMore;
          p += static_cast<size_t>(len);
        }
      }
      if (p < end && buf[p] != delimiter && buf[p] != '\n' && buf[p] != '\r') {
        fail_at(line, col, "unexpected character after a closing quote (byte " + byte_in_line(p) + " of the line)");
      }
    } else {
      const size_t start = p;
      for (;;) {
        while (p < end && !special[ubuf[p]]) ++p;
        if (p >= end) break;
        const char c = buf[p];
        if (c == delimiter || c == '\n' || c == '\r') break;
        if (c == '"') {
          fail_at(line, col,
                  "quote inside an unquoted field (byte " + byte_in_line(p) +
                      " of the line); quote the whole field and double inner quotes");
        }
        const int len = check_utf8(p, col);
        if (len < 0) return Step::kNeedMore;
        p += static_cast<size_t>(len);
      }
      if (p - start > kCsvMaxFieldBytes) field_too_long(line, col);
      if (p >= end && !eof_) return Step::kNeedMore;
      field.assign(buf + start, p - start);
    }
    // After a field: end of input, the delimiter, or a line end.
    if (p >= end) {
      if (!eof_) return Step::kNeedMore;
      break;
    }
    const char c = buf[p];
    if (c == delimiter) {
      ++p;
      continue;
    }
    if (c == '\n') {
      ++p;
      ++line;
      line_start = base_ + p;
    } else {  // '\r'
      if (p + 1 >= end) {
        if (!eof_) return Step::kNeedMore;
        p = end;  // a final bare CR ends the file
      } else if (buf[p + 1] == '\n') {
        p += 2;
        ++line;
        line_start = base_ + p;
      } else {
        fail_at(line, col, "carriage return not followed by a line feed (byte " + byte_in_line(p) + " of the line)");
      }
    }
    break;
  }
  pos_ = p;
  line_ = line;
  line_start_ = line_start;
  return Step::kRecord;
}

bool CsvStream::read_record(std::vector<std::string>& out) {
  if (!skip_blank_lines()) return false;
  record_line_ = line_;
  size_t fields = 0;
  while (parse(out, fields) == Step::kNeedMore) {
    // The record so far is all of [pos_, end_): the buffer never grows past twice the cap.
    if (end_ - pos_ >= kCsvMaxRecordBytes)
      throw DataError(path_, record_line_, "",
                      "line longer than " + std::to_string(kCsvMaxRecordBytes >> 20) +
                          " MiB (the limit on one row, quoted line breaks included)");
    fill();
  }
  record_fields_ = fields;
  out.resize(std::min(fields, have_header_ ? header_.size() : fields));
  return true;
}

bool CsvStream::next(std::vector<std::string>& row) {
  if (!read_record(row)) return false;
  ++rows_;
  const size_t width = header_.size();
  if (record_fields_ > width) {
    fail_at(record_line_, width,
            "row has " + std::to_string(record_fields_) + " fields but the header has " + std::to_string(width));
  }
  if (row.size() < width) {
    fail_at(record_line_, row.size(),
            "row has " + std::to_string(row.size()) + " fields but the header has " + std::to_string(width) +
                " (no value for '" + header_[row.size()] + "')");
  }
  return true;
}

}  // namespace ftmamba::data
