// defines: how ftmamba stops on SIGINT, SIGTERM and SIGHUP. The handler only writes to a pipe; a watcher thread
// reads it and acts, so that no code but a write runs in a signal handler (install_interrupt_handling):
//  - inside a StopAtNextStep scope (the trainer), the first signal only raises a flag that the loop polls;
//    it then writes a checkpoint and throws Interrupted. A second signal stops at once.
//  - otherwise the staging folders registered with CleanupOnInterrupt are removed and the process exits
//    with 128 + the signal's number.
// Inside a RouteSignalsTo scope (a server) every signal goes to its handler instead.
// Signals sent to this process alone are forwarded to the child processes registered with ForwardInterruptTo
// (compare's trainings; a terminal's Ctrl-C reaches them by itself), and while one runs the parent waits for
// it instead of exiting, so that the child can checkpoint.
#pragma once
#include <sys/types.h>

#include <filesystem>
#include <functional>

#include "ftmamba/core/error.h"

namespace ftmamba {

// Thrown where a run stops because of a signal; main() exits with exit_code() (128 + the signal).
struct Interrupted : Error {
  Interrupted(const std::string& what, int signal) : Error(what), signal(signal) {}
  int exit_code() const { return 128 + signal; }
  int signal;
};

// Call once, first thing in main(). Signals the process was started ignoring stay ignored.
void install_interrupt_handling();

// The signal received so far (0: none). Loops inside a StopAtNextStep scope poll it.
int interrupt_signal();

// While alive, a first signal sets interrupt_signal() instead of exiting.
class StopAtNextStep {
 public:
  StopAtNextStep();
  ~StopAtNextStep();
  StopAtNextStep(const StopAtNextStep&) = delete;
  StopAtNextStep& operator=(const StopAtNextStep&) = delete;
};

// While alive, `dir` is removed if the process stops on a signal outside a StopAtNextStep scope.
class CleanupOnInterrupt {
 public:
  explicit CleanupOnInterrupt(std::filesystem::path dir);
  ~CleanupOnInterrupt();
  CleanupOnInterrupt(const CleanupOnInterrupt&) = delete;
  CleanupOnInterrupt& operator=(const CleanupOnInterrupt&) = delete;

 private:
  std::filesystem::path dir_;
};

// While alive, signals are forwarded to `pid` and the process waits for the child rather than exiting.
class ForwardInterruptTo {
 public:
  explicit ForwardInterruptTo(pid_t pid);
  ~ForwardInterruptTo();
  ForwardInterruptTo(const ForwardInterruptTo&) = delete;
  ForwardInterruptTo& operator=(const ForwardInterruptTo&) = delete;

 private:
  pid_t pid_;
};

// While alive, each signal (SIGINT, SIGTERM, SIGHUP) is handed to `handler` on the watcher thread instead of any
// action above: a server reloads on SIGHUP and stops on the others. The handler should return quickly; the
// destructor waits for a call in progress.
class RouteSignalsTo {
 public:
  explicit RouteSignalsTo(std::function<void(int signal)> handler);
  ~RouteSignalsTo();
  RouteSignalsTo(const RouteSignalsTo&) = delete;
  RouteSignalsTo& operator=(const RouteSignalsTo&) = delete;
};

}  // namespace ftmamba
