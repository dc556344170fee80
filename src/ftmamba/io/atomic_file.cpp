// defines: write_file_atomic, read_file, fsync_file, fsync_dir (see atomic_file.h).
#include "ftmamba/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "ftmamba/core/error.h"

namespace ftmamba::io {
namespace fs = std::filesystem;
namespace {

void fsync_path(const fs::path& p, int flags, const char* what) {
  const int fd = ::open(p.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | flags);
  if (fd < 0) throw Error(p.string() + ": cannot open the " + what + " to sync it: " + errno_text());
  const bool ok = ::fsync(fd) == 0;
  const std::string why = ok ? "" : errno_text();
  ::close(fd);
  if (!ok) throw Error(p.string() + ": fsync failed: " + why);
}

}  // namespace

bool write_all(int fd, std::string_view bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

void fsync_file(const fs::path& file) { fsync_path(file, 0, "file"); }
void fsync_dir(const fs::path& dir) { fsync_path(dir, O_DIRECTORY, "folder"); }

void write_file_atomic(const fs::path& path, std::string_view bytes) {
  static std::atomic<int> counter{0};
  const fs::path parent = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) throw Error(path.string() + ": cannot create its folder: " + ec.message());
  const fs::path tmp = path.string() + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(path.string() + ": cannot write: " + errno_text());
  const auto fail = [&](const std::string& what) {
    const std::string why = errno_text();
    ::close(fd);
    std::error_code ec;
    fs::remove(tmp, ec);
    throw Error(path.string() + ": " + what + ": " + why);
  };
  if (!write_all(fd, bytes)) fail("write failed");
  if (::fsync(fd) != 0) fail("fsync failed");
  if (::close(fd) != 0) {
    const std::string why = errno_text();
    std::error_code ec;
    fs::remove(tmp, ec);
    throw Error(path.string() + ": close failed: " + why);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = errno_text();
    std::error_code ec;
    fs::remove(tmp, ec);
    throw Error(path.string() + ": cannot rename into place: " + why);
  }
  fsync_dir(parent);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace ftmamba::io
