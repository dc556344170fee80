// defines: CsvFileWriter.
#include "ftmamba/data/csv_file_writer.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "ftmamba/core/error.h"

namespace ftmamba::data {

CsvFileWriter::CsvFileWriter(std::filesystem::path path)
    : path_(std::move(path)), file_(std::fopen(path_.c_str(), "wb")) {
  if (file_ == nullptr) throw Error(path_.string() + ": cannot write: " + std::strerror(errno));
  std::setvbuf(file_, nullptr, _IOFBF, size_t{1} << 20);
}

CsvFileWriter::~CsvFileWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

void CsvFileWriter::write(std::string_view bytes) {
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) fail();
}

void CsvFileWriter::close() {
  const bool ok = std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
  const int err = errno;
  std::fclose(file_);
  file_ = nullptr;
  if (!ok) throw Error(path_.string() + ": write failed: " + std::strerror(err));
}

void CsvFileWriter::fail() const { throw Error(path_.string() + ": write failed: " + std::strerror(errno)); }

}  // namespace ftmamba::data
