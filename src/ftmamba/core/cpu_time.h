// defines: process_cpu_ms, the process's CPU time (all threads) in milliseconds. The benchmarks time steps
// with it beside wall time: on a shared machine other processes stretch wall time but not our CPU time.
#pragma once
#include <time.h>

namespace ftmamba {

inline double process_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

}  // namespace ftmamba
