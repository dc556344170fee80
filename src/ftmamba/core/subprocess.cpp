#include "ftmamba/core/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ftmamba/core/error.h"
#include "ftmamba/core/interrupt.h"
#include "ftmamba/core/timer.h"

namespace ftmamba {

std::filesystem::path self_executable() { return std::filesystem::read_symlink("/proc/self/exe"); }

ChildResult run_child(const std::vector<std::string>& argv, const std::filesystem::path& stdout_file) {
  if (argv.empty()) throw Error("run_child: empty command");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  if (::access(argv[0].c_str(), X_OK) != 0) throw Error("cannot start " + argv[0] + ": " + errno_text());

  // fork + exec rather than posix_spawn, for PR_SET_PDEATHSIG: a child dies with its parent, so stopping
  // `compare` never leaves a training running. Between fork and exec only async-signal-safe calls.
  const pid_t parent = ::getpid();
  const Stopwatch watch;
  const pid_t pid = ::fork();
  if (pid < 0) throw Error("cannot start " + argv[0] + ": " + errno_text());
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);  // the parent died before the line above
    if (!stdout_file.empty()) {
      const int fd = ::open(stdout_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0 || ::dup2(fd, STDOUT_FILENO) < 0) ::_exit(127);
    }
    ::execv(argv[0].c_str(), args.data());
    ::_exit(127);
  }
  const ForwardInterruptTo forward(pid);

  int status = 0;
  struct rusage usage {};
  // wait4 gives this child's own peak memory, unlike RUSAGE_CHILDREN (the maximum over all children).
  while (wait4(pid, &status, 0, &usage) < 0) {
    if (errno != EINTR) throw Error(std::string("waiting for child process: ") + errno_text());
  }
  ChildResult r;
  r.seconds = watch.seconds();
  r.max_rss_mib = static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

}  // namespace ftmamba
