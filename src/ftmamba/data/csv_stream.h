// defines: CsvStream, the project's one RFC 4180 reader: it streams a CSV file one row at a time through a
// fixed buffer (quoted commas, doubled quotes and newlines, CRLF or LF, UTF-8 checked) and names
// FILE:LINE:COLUMN in every error. read_csv (csv.h) is this reader collecting every row.
#pragma once
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ftmamba::data {

// Limits that keep memory bounded on hostile input (docs/CONFIGURATION.md, "Limits of the data files"): a longer field,
// row or header is a DataError naming FILE:LINE.
inline constexpr size_t kCsvMaxFieldBytes = size_t{1} << 20;    // 1 MiB, one field
inline constexpr size_t kCsvMaxRecordBytes = size_t{16} << 20;  // 16 MiB, one row (quoted line breaks included)
inline constexpr size_t kCsvMaxColumns = 65536;                 // columns of the header

// A header row, then one record per row; blank lines are skipped; a UTF-8 byte order mark is dropped.
// Memory is the buffer (no larger than the file, grown only to hold the longest record) plus the
// caller's row, so a file far larger than memory streams through. Typical use:
//   CsvStream in(path);
//   const int c = in.column("article_id");
//   std::vector<std::string> row;
//   while (in.next(row)) use(row[c]);  // in.line() is the row's first line, for messages
class CsvStream {
 public:
  // Opens the file and reads the header. Throws DataError for a missing, unreadable or empty file, one that is
  // not a regular file (a FIFO or device is refused without blocking), a malformed header, or duplicate
  // column names.
  explicit CsvStream(const std::filesystem::path& path, size_t buffer_bytes = size_t{1} << 20);
  CsvStream(const CsvStream&) = delete;
  CsvStream& operator=(const CsvStream&) = delete;

  const std::string& path() const { return path_; }  // as given, used in messages
  const std::vector<std::string>& header() const { return header_; }
  // Index of a column by name; throws DataError "PATH:1: missing column 'NAME' (the header has: ...)".
  int column(const std::string& name) const;
  std::optional<int> find_column(const std::string& name) const;

  // Reads the next row into `row` (its strings' storage is reused). Returns false at end of file.
  // Throws DataError on a ragged row (field count differs from the header), an unterminated quote,
  // stray text after a closing quote, a bare carriage return, invalid UTF-8, or a field or row over the limits.
  bool next(std::vector<std::string>& row);

  int64_t line() const { return record_line_; }  // 1-based line where the last row read starts
  int64_t rows() const { return rows_; }         // data rows read so far
  uint64_t bytes_read() const { return base_ + pos_; }
  uint64_t file_size() const { return file_size_; }
  size_t buffer_bytes() const { return buf_.size(); }  // what the reader holds of the file at most
  // Rows the whole file will have if the rest is like the rows read so far: for reserving containers.
  int64_t estimated_rows() const;

  // Throws DataError "PATH:LINE:COLUMN: what" for column `col` of the last row read.
  [[noreturn]] void fail(int col, const std::string& what) const;

 private:
  enum class Step { kRecord, kNeedMore, kEnd };
  Step parse(std::vector<std::string>& out, size_t& fields);
  bool skip_blank_lines();
  bool fill();  // keeps [pos_, end_), reads more behind it; false when nothing more was read
  bool read_record(std::vector<std::string>& out);
  std::string column_name(size_t col) const;
  [[noreturn]] void fail_at(int64_t line, size_t col, const std::string& what) const;
  [[noreturn]] void field_too_long(int64_t line, size_t col) const;

  std::string path_;
  struct Closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, Closer> file_;
  uint64_t file_size_ = 0;
  std::vector<char> buf_;  // valid bytes are [0, end_); the record being read starts at pos_
  size_t pos_ = 0, end_ = 0;
  uint64_t base_ = 0;        // file offset of buf_[0]
  uint64_t header_end_ = 0;  // file offset after the header row
  bool eof_ = false;
  int64_t line_ = 1;         // physical line at pos_
  uint64_t line_start_ = 0;  // file offset where that line starts (for "byte N of the line")
  int64_t record_line_ = 1;
  int64_t rows_ = 0;
  size_t record_fields_ = 0;    // fields of the last record, counting those past the header's width
  std::string overflow_field_;  // where fields past the header's width are parsed (and dropped)
  std::vector<std::string> header_;
  bool have_header_ = false;
};

}  // namespace ftmamba::data
