#include "ftmamba/core/subprocess.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>

#include "ftmamba/core/error.h"
#include "ftmamba/core/timer.h"

extern char** environ;

namespace ftmamba {

std::filesystem::path self_executable() { return std::filesystem::read_symlink("/proc/self/exe"); }

ChildResult run_child(const std::vector<std::string>& argv, const std::filesystem::path& stdout_file) {
  if (argv.empty()) throw Error("run_child: empty command");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!stdout_file.empty())
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, stdout_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const Stopwatch watch;
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw Error("cannot start " + argv[0] + ": " + std::strerror(rc));

  int status = 0;
  struct rusage usage {};
  // wait4 gives this child's own peak memory, unlike RUSAGE_CHILDREN (the maximum over all children).
  while (wait4(pid, &status, 0, &usage) < 0) {
    if (errno != EINTR) throw Error(std::string("waiting for child process: ") + std::strerror(errno));
  }
  ChildResult r;
  r.seconds = watch.seconds();
  r.max_rss_mib = static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

}  // namespace ftmamba
