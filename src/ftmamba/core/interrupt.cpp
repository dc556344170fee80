// defines: the interrupt watcher (see interrupt.h).
#include "ftmamba/core/interrupt.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

namespace ftmamba {
namespace fs = std::filesystem;
namespace {

std::atomic<int> g_signal{0};
std::atomic<int> g_stop_scopes{0};
std::mutex g_mutex;  // guards the two lists
std::vector<fs::path> g_cleanup;
std::vector<pid_t> g_children;
std::mutex g_route_mutex;  // guards g_route, and is held while it runs
std::function<void(int)> g_route;

// The signals this process stops on: SIGINT, SIGTERM and SIGHUP, less those it was started ignoring (nohup's
// SIGHUP, a shell's SIGINT for a background job), which stay ignored as in any program.
std::vector<int> stop_signals() {
  std::vector<int> out;
  for (const int sig : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction current {};
    if (sigaction(sig, nullptr, &current) == 0 && current.sa_handler == SIG_IGN) continue;
    out.push_back(sig);
  }
  return out;
}

// What the handler passes to the watcher thread: the signal, and whether a process sent it to this one alone
// (kill, a supervisor) rather than a terminal to the whole process group.
struct Received {
  int signal;
  int sent_by_process;
};
int g_pipe[2] = {-1, -1};

// Runs in whichever thread the kernel picks (LibTorch's and OpenMP's threads may start before main): it only
// writes to a pipe, which is async-signal-safe.
void on_signal(int sig, siginfo_t* info, void*) {
  const int saved = errno;
  const Received r{sig, info != nullptr && (info->si_code == SI_USER || info->si_code == SI_QUEUE)};
  [[maybe_unused]] const ssize_t n = ::write(g_pipe[1], &r, sizeof r);
  errno = saved;
}

void watch_signals() {
  for (;;) {
    Received r{};
    const ssize_t n = ::read(g_pipe[0], &r, sizeof r);
    if (n != static_cast<ssize_t>(sizeof r)) {
      if (n < 0 && errno == EINTR) continue;
      return;
    }
    const int sig = r.signal;
    {
      std::lock_guard<std::mutex> lock(g_route_mutex);
      if (g_route) {
        g_route(sig);
        continue;
      }
    }
    const bool first = g_signal.load() == 0;
    g_signal.store(sig);
    std::vector<fs::path> cleanup;
    {
      std::lock_guard<std::mutex> lock(g_mutex);
      // Ctrl-C at a terminal reaches the whole process group, children included; a signal sent to this process
      // alone is passed on.
      if (r.sent_by_process)
        for (const pid_t child : g_children) ::kill(child, sig);
      // A running child decides: the parent returns from waiting for it and sees interrupt_signal().
      if (!g_children.empty() && first) continue;
      cleanup = g_cleanup;
    }
    if (first && g_stop_scopes.load() > 0) {
      std::fputs("\nftmamba: stopping after this step (a checkpoint is written); signal again to stop now\n", stderr);
      continue;
    }
    for (const auto& dir : cleanup) {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
    std::fprintf(stderr, "\nftmamba: stopped by signal %d\n", sig);
    std::fflush(stderr);
    ::_exit(128 + sig);
  }
}

}  // namespace

void install_interrupt_handling() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (::pipe2(g_pipe, O_CLOEXEC) != 0) return;  // signals then keep their default action
    std::thread(watch_signals).detach();
    for (const int sig : stop_signals()) {
      struct sigaction action {};
      action.sa_sigaction = on_signal;
      action.sa_flags = SA_SIGINFO | SA_RESTART;
      sigemptyset(&action.sa_mask);
      sigaction(sig, &action, nullptr);
    }
  });
}

int interrupt_signal() { return g_signal.load(); }

StopAtNextStep::StopAtNextStep() { ++g_stop_scopes; }
StopAtNextStep::~StopAtNextStep() { --g_stop_scopes; }

CleanupOnInterrupt::CleanupOnInterrupt(fs::path dir) : dir_(std::move(dir)) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_cleanup.push_back(dir_);
}
CleanupOnInterrupt::~CleanupOnInterrupt() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (auto it = std::find(g_cleanup.begin(), g_cleanup.end(), dir_); it != g_cleanup.end()) g_cleanup.erase(it);
}

ForwardInterruptTo::ForwardInterruptTo(pid_t pid) : pid_(pid) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_children.push_back(pid_);
}
ForwardInterruptTo::~ForwardInterruptTo() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (auto it = std::find(g_children.begin(), g_children.end(), pid_); it != g_children.end()) g_children.erase(it);
}

RouteSignalsTo::RouteSignalsTo(std::function<void(int)> handler) {
  std::lock_guard<std::mutex> lock(g_route_mutex);
  g_route = std::move(handler);
}
RouteSignalsTo::~RouteSignalsTo() {
  std::lock_guard<std::mutex> lock(g_route_mutex);
  g_route = nullptr;
}

}  // namespace ftmamba
