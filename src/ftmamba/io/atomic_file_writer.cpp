// defines: AtomicFileWriter (see atomic_file_writer.h).
#include "ftmamba/io/atomic_file_writer.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

#include "ftmamba/core/error.h"
#include "ftmamba/io/atomic_file.h"

namespace ftmamba::io {
namespace fs = std::filesystem;

void AtomicFileWriter::check(const fs::path& path, bool replace) {
  std::error_code ec;
  const auto status = fs::symlink_status(path, ec);
  if (fs::is_directory(status)) throw Error(path.string() + " is a folder; --out takes a file name");
  if (fs::exists(status) && !replace)
    throw Error(path.string() + " already exists; pass --force to replace it, or choose another --out");
  const fs::path parent = path.has_parent_path() ? path.parent_path() : fs::path(".");
  if (!fs::is_directory(parent, ec)) throw Error(path.string() + ": no such folder: " + parent.string());
}

AtomicFileWriter::AtomicFileWriter(fs::path path, bool replace) : path_(std::move(path)), replace_(replace) {
  static std::atomic<int> counter{0};
  check(path_, replace_);
  tmp_ = path_.string() + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  const int fd = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(path_.string() + ": cannot write: " + errno_text());
  cleanup_ = std::make_unique<CleanupOnInterrupt>(tmp_);
  file_ = ::fdopen(fd, "wb");
  if (file_ == nullptr) {
    const int err = errno;
    ::close(fd);
    discard();
    throw Error(path_.string() + ": cannot write: " + std::strerror(err));
  }
  std::setvbuf(file_, nullptr, _IOFBF, size_t{1} << 20);
}

AtomicFileWriter::~AtomicFileWriter() { discard(); }

void AtomicFileWriter::discard() {
  if (file_ != nullptr) std::fclose(file_);
  file_ = nullptr;
  if (!tmp_.empty()) {
    std::error_code ec;
    fs::remove(tmp_, ec);
    tmp_.clear();
  }
  cleanup_.reset();
}

void AtomicFileWriter::fail(const char* what) {
  const std::string why = errno_text();
  discard();
  throw Error(path_.string() + ": " + what + ": " + why);
}

void AtomicFileWriter::write(std::string_view bytes) {
  if (file_ == nullptr) throw Error(path_.string() + ": written after commit");
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) fail("write failed");
}

void AtomicFileWriter::commit() {
  if (file_ == nullptr) throw Error(path_.string() + ": committed twice");
  if (std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0) fail("write failed");
  const int closed = std::fclose(file_);
  file_ = nullptr;
  if (closed != 0) fail("close failed");
  const unsigned flags = replace_ ? 0 : RENAME_NOREPLACE;
  if (::renameat2(AT_FDCWD, tmp_.c_str(), AT_FDCWD, path_.c_str(), flags) != 0) {
    if (errno == EEXIST) {
      discard();
      throw Error(path_.string() + " appeared while it was being written; pass --force to replace it");
    }
    fail("cannot rename into place");
  }
  tmp_.clear();
  cleanup_.reset();
  fsync_dir(path_.has_parent_path() ? path_.parent_path() : fs::path("."));
}

}  // namespace ftmamba::io
