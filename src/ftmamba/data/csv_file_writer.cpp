// defines: CsvFileWriter.
#include "ftmamba/data/csv_file_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "ftmamba/core/error.h"

namespace ftmamba::data {

// A new file only (O_EXCL | O_NOFOLLOW): inside a staging folder nothing should be there, and a planted file or
// symbolic link is never written through.
CsvFileWriter::CsvFileWriter(std::filesystem::path path) : path_(std::move(path)) {
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(path_.string() + ": cannot write: " + errno_text());
  file_ = ::fdopen(fd, "wb");
  if (file_ == nullptr) {
    const int err = errno;
    ::close(fd);
    throw Error(path_.string() + ": cannot write: " + std::strerror(err));
  }
  std::setvbuf(file_, nullptr, _IOFBF, size_t{1} << 20);
}

CsvFileWriter::~CsvFileWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

void CsvFileWriter::write(std::string_view bytes) {
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) fail();
}

void CsvFileWriter::close() {
  bool ok = std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
  int err = errno;
  if (std::fclose(file_) != 0 && ok) {
    ok = false;
    err = errno;
  }
  file_ = nullptr;
  if (!ok) throw Error(path_.string() + ": write failed: " + std::strerror(err));
}

void CsvFileWriter::fail() const { throw Error(path_.string() + ": write failed: " + errno_text()); }

}  // namespace ftmamba::data
