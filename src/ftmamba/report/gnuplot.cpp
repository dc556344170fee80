// defines: find_gnuplot (PATH lookup) and run_gnuplot (fork + exec, script on stdin over a socket pair).
#include "ftmamba/report/gnuplot.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "ftmamba/core/error.h"

namespace ftmamba::report {
namespace fs = std::filesystem;

namespace {

// Closes a file descriptor on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

std::string read_all(int fd) {
  std::string out;
  if (::lseek(fd, 0, SEEK_SET) < 0) return out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

// The last few meaningful lines of gnuplot's messages, on one line (errors are reported on a single line).
std::string last_lines(const std::string& text, size_t n) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const size_t a = line.find_first_not_of(" \t\r"), b = line.find_last_not_of(" \t\r");
    if (a == std::string::npos || line.substr(a, b + 1 - a) == "^") continue;  // skip the caret under the error
    lines.push_back(line.substr(a, b + 1 - a));
  }
  std::string out;
  for (size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i)
    out += (out.empty() ? "" : " / ") + lines[i];
  return out;
}

}  // namespace

fs::path find_gnuplot() {
  const char* path = std::getenv("PATH");
  if (!path) return {};
  std::string p = path;
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    fs::path dir = end > start ? fs::path(p.substr(start, end - start)) : fs::path(".");
    fs::path candidate = dir / "gnuplot";
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return {};
}

void run_gnuplot(std::string_view script, const fs::path& workdir) {
  const fs::path exe = find_gnuplot();
  if (exe.empty()) throw Error("gnuplot not found: apt-get install gnuplot-nox");

  // A socket pair rather than a pipe, so that writing to a gnuplot that already quit is an EPIPE error
  // (MSG_NOSIGNAL) instead of a SIGPIPE that would kill the whole program.
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    throw Error(std::string("gnuplot: socketpair: ") + errno_text());
  Fd parent_end{sv[0]}, child_end{sv[1]};
  // gnuplot's messages go to an anonymous file: a second pipe could fill up while we are still writing.
  Fd messages{::memfd_create("gnuplot-messages", MFD_CLOEXEC)};
  if (messages.fd < 0) throw Error(std::string("gnuplot: memfd_create: ") + errno_text());

  const std::string exe_str = exe.string(), dir_str = workdir.string();
  const pid_t pid = ::fork();
  if (pid < 0) throw Error(std::string("gnuplot: fork: ") + errno_text());
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    if (::chdir(dir_str.c_str()) != 0) ::_exit(126);
    if (::dup2(child_end.fd, 0) < 0 || ::dup2(messages.fd, 1) < 0 || ::dup2(messages.fd, 2) < 0) ::_exit(126);
    char* const argv[] = {const_cast<char*>("gnuplot"), nullptr};
    ::execv(exe_str.c_str(), argv);
    ::_exit(127);
  }
  child_end.reset();

  size_t written = 0;
  bool write_failed = false;
  while (written < script.size()) {
    ssize_t n = ::send(parent_end.fd, script.data() + written, script.size() - written, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      write_failed = true;  // gnuplot quit early; its exit status and messages say why
      break;
    }
    written += static_cast<size_t>(n);
  }
  parent_end.reset();  // end of input: gnuplot finishes and exits

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw Error(std::string("gnuplot: waitpid: ") + errno_text());
  }
  const std::string text = read_all(messages.fd);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !write_failed) return;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 126) throw Error("gnuplot: cannot enter " + dir_str);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) throw Error("gnuplot not found: apt-get install gnuplot-nox");
  const std::string why = WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                            : "signal " + std::to_string(WTERMSIG(status));
  std::string msg = "gnuplot failed in " + dir_str + " (" + why + ")";
  const std::string tail = last_lines(text, 4);
  if (!tail.empty()) msg += ": " + tail;
  throw Error(msg);
}

}  // namespace ftmamba::report
