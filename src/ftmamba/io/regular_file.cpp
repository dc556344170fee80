// defines: require_regular_file and open_regular_file (see regular_file.h).
#include "ftmamba/io/regular_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "ftmamba/core/error.h"

namespace ftmamba::io {
namespace {

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

[[noreturn]] void refuse(const std::filesystem::path& path, mode_t mode) {
  throw Error(path.string() + ": is " + kind_of(mode) + ", not a regular file (only regular files are read)");
}

}  // namespace

void require_regular_file(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) throw Error(path.string() + ": file not found");
    throw Error(path.string() + ": cannot read file: " + errno_text());
  }
  if (!S_ISREG(st.st_mode)) refuse(path, st.st_mode);
}

int open_regular_file(const std::filesystem::path& path) {
  require_regular_file(path);
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw Error(path.string() + ": cannot open file: " + errno_text());
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const mode_t mode = st.st_mode;
    ::close(fd);
    refuse(path, mode);
  }
  // Regular files ignore O_NONBLOCK; cleared anyway so that later reads behave as a plain open's.
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

}  // namespace ftmamba::io
