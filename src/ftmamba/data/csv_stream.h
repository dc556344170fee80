// defines: CsvStream, the project's one RFC 4180 reader: it streams a CSV file one row at a time through a
// fixed buffer (quoted delimiters, doubled quotes and newlines, CRLF or LF, UTF-8 checked) and names
// FILE:LINE:COLUMN in every error. The delimiter is a comma or any other byte (CsvFormat), and a gzip file is
// decompressed as it is read. read_csv (csv.h) is this reader collecting every row.
#pragma once
#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ftmamba/data/csv_format.h"
#include "ftmamba/io/byte_reader.h"

namespace ftmamba::data {

// Limits that keep memory bounded on hostile input (docs/CONFIGURATION.md, "Limits of the data files"): a longer
// field, row or header is a DataError naming FILE:LINE. They hold for the decompressed text of a gzip file too,
// so a small file that inflates to gigabytes costs no more memory than a plain one.
inline constexpr size_t kCsvMaxFieldBytes = size_t{1} << 20;    // 1 MiB, one field
inline constexpr size_t kCsvMaxRecordBytes = size_t{16} << 20;  // 16 MiB, one row (quoted line breaks included)
inline constexpr size_t kCsvMaxColumns = 65536;                 // columns of the header

// A header row, then one record per row; blank lines are skipped; a UTF-8 byte order mark is dropped.
// Memory is the buffer (no larger than a plain file, grown only to hold the longest record) plus the
// caller's row, so a file far larger than memory streams through. Typical use:
//   CsvStream in(path);
//   const int c = in.column("article_id");
//   std::vector<std::string> row;
//   while (in.next(row)) use(row[c]);  // in.line() is the row's first line, for messages
class CsvStream {
 public:
  // Opens the file and reads the header. Throws DataError for a missing, unreadable or empty file, one that is
  // not a regular file (a FIFO or device is refused without blocking), corrupt or truncated gzip data, a
  // malformed header, or duplicate column names.
  CsvStream(const std::filesystem::path& path, const CsvFormat& format, size_t buffer_bytes = size_t{1} << 20);
  // The format csv_format_for(path) gives: tab-separated for NAME.tsv, gzip for NAME.gz, else comma-separated.
  explicit CsvStream(const std::filesystem::path& path, size_t buffer_bytes = size_t{1} << 20);
  CsvStream(const CsvStream&) = delete;
  CsvStream& operator=(const CsvStream&) = delete;

  const std::string& path() const { return path_; }  // as given, used in messages
  const CsvFormat& format() const { return format_; }
  const std::vector<std::string>& header() const { return header_; }
  // Index of a column by name; throws DataError "PATH:1: missing column 'NAME' (the header has: ...)".
  int column(const std::string& name) const;
  std::optional<int> find_column(const std::string& name) const;

  // Reads the next row into `row` (its strings' storage is reused). Returns false at end of file.
  // Throws DataError on a ragged row (field count differs from the header), an unterminated quote,
  // stray text after a closing quote, a bare carriage return, invalid UTF-8, or a field or row over the limits.
  bool next(std::vector<std::string>& row);

  int64_t line() const { return record_line_; }         // 1-based line where the last row read starts
  int64_t rows() const { return rows_; }                // data rows read so far
  uint64_t bytes_read() const { return base_ + pos_; }  // of the text (decompressed, for gzip)
  // Progress through the file on disk: file_bytes_read() of file_size() (compressed bytes, for gzip).
  uint64_t file_bytes_read() const { return source_->gzip() ? source_->file_bytes_read() : bytes_read(); }
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
  CsvFormat format_;
  std::array<bool, 256> special_{};  // bytes that end an unquoted run: the delimiter, line ends, quote, non-ASCII
  std::unique_ptr<io::ByteReader> source_;
  uint64_t file_size_ = 0;
  std::vector<char> buf_;  // valid bytes are [0, end_); the record being read starts at pos_
  size_t pos_ = 0, end_ = 0;
  uint64_t base_ = 0;        // file offset of buf_[0]
  uint64_t header_end_ = 0;  // file_bytes_read() after the header row
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
