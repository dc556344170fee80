// defines: CsvFileWriter, which writes a file through a 1 MiB buffer and syncs it on close, so a large
// output (an imported dataset's CSVs) is never held whole in memory.
#pragma once
#include <cstdio>
#include <filesystem>
#include <string_view>

namespace ftmamba::data {

// Meant for files inside a staging folder (io::StagedDir), which is what makes the result all-or-nothing.
// Throws Error naming the file when it cannot be opened, written or synced.
class CsvFileWriter {
 public:
  explicit CsvFileWriter(std::filesystem::path path);
  ~CsvFileWriter();
  CsvFileWriter(const CsvFileWriter&) = delete;
  CsvFileWriter& operator=(const CsvFileWriter&) = delete;

  void write(std::string_view bytes);  // e.g. format_csv_row(fields)
  void close();                        // flush and fsync; the destructor only closes

 private:
  [[noreturn]] void fail() const;
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

}  // namespace ftmamba::data
