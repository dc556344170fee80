// defines: read_user_list (see user_list.h).
#include "ftmamba/serve/user_list.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include "ftmamba/core/error.h"
#include "ftmamba/io/regular_file.h"

namespace ftmamba::serve {
namespace {

std::string read_all(const std::filesystem::path& file) {
  const int fd = io::open_regular_file(file);
  std::string bytes;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      const std::string why = errno_text();
      ::close(fd);
      throw Error(file.string() + ": cannot read: " + why);
    }
    bytes.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return bytes;
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

UserList read_user_list(const std::filesystem::path& file, const Recommender& recommender, bool skip_unknown,
                        const Log& warn) {
  const std::string bytes = read_all(file);
  const auto& data = recommender.data();
  UserList out;
  bool first = true;
  int64_t line_no = 0;
  for (size_t at = 0; at < bytes.size();) {
    const size_t end = std::min(bytes.find('\n', at), bytes.size());
    const std::string id(trimmed(std::string_view(bytes).substr(at, end - at)));
    at = end + 1;
    ++line_no;
    if (id.empty()) continue;
    const auto row = recommender.find_user(id);
    const bool header = first && !row && (id == "user_id" || id == data.user_schema.id);
    first = false;
    if (header) continue;
    if (row) {
      out.rows.push_back(*row);
      continue;
    }
    const std::string where = file.string() + ":" + std::to_string(line_no) + ": unknown user '" + id + "' (not in " +
                              data.users_source.string() + ")";
    if (!skip_unknown) throw Error(where + "; pass --skip-unknown to skip such ids with a warning");
    warn("ftmamba: warning: " + where + "; skipped");
    ++out.skipped;
  }
  return out;
}

}  // namespace ftmamba::serve
