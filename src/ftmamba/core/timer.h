// defines: Stopwatch, the one timer of the experiments and benchmarks: wall time read after the device's queued
// work has finished, beside the process's CPU time (process_cpu_ms).
#pragma once
#include <c10/core/Device.h>

#include <chrono>

#include "ftmamba/core/cpu_time.h"

namespace ftmamba {

// A GPU runs asynchronously: the host returns from a launch before the work is done, so a clock read
// straight after it would stop when the work was queued. On a CUDA device every reading (and the start)
// therefore waits for the device first. On the CPU nothing waits.
class Stopwatch {
 public:
  struct Lap {
    double wall_ms = 0.0;  // wall clock, after the device's work
    double cpu_ms = 0.0;   // process CPU time, all threads: other processes on the machine do not stretch it
  };

  explicit Stopwatch(c10::Device device = c10::Device(c10::kCPU));  // starts now

  void restart();
  // Since the start (or the last restart / lap).
  double wall_ms() const;
  double seconds() const { return wall_ms() / 1e3; }
  double cpu_ms() const { return process_cpu_ms() - cpu_start_; }
  // Both clocks since the start (or the last lap), then starts the next lap from here.
  Lap lap();

 private:
  void wait_for_device() const;

  c10::Device device_;
  std::chrono::steady_clock::time_point wall_start_;
  double cpu_start_ = 0.0;
};

}  // namespace ftmamba
