// defines: AppendFile (see append_file.h).
#include "ftmamba/io/append_file.h"

#include <fcntl.h>
#include <unistd.h>

#include "ftmamba/core/error.h"
#include "ftmamba/io/atomic_file.h"

namespace ftmamba::io {

AppendFile::AppendFile(std::filesystem::path path) : path_(std::move(path)) {
  const bool existed = std::filesystem::exists(path_);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error(path_.string() + ": cannot open for appending: " + errno_text());
  // A new file's name must be durable too, not only the bytes appended to it.
  if (!existed) fsync_dir(path_.has_parent_path() ? path_.parent_path() : std::filesystem::path("."));
}

AppendFile::~AppendFile() {
  if (fd_ >= 0) ::close(fd_);
}

void AppendFile::append(std::string_view bytes) {
  if (!write_all(fd_, bytes)) throw Error(path_.string() + ": append failed: " + errno_text());
  if (::fdatasync(fd_) != 0) throw Error(path_.string() + ": fdatasync failed: " + errno_text());
}

}  // namespace ftmamba::io
