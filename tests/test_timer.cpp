// Tests Stopwatch (core/timer.h): its wall clock counts sleeping and its CPU clock does not; a lap restarts both;
// and on a GPU a reading waits for the queued work, which a host-only clock would not.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "ftmamba/core/timer.h"
#include "gpu_skip.h"

#ifdef FTMAMBA_WITH_CUDA
#include <ATen/cuda/Sleep.h>
#endif

using ftmamba::Stopwatch;

namespace {

// Spins on this thread until the process has used `ms` of CPU time since `watch` started.
void burn_cpu(const Stopwatch& watch, double ms) {
  volatile double sink = 0;
  while (watch.cpu_ms() < ms)
    for (int i = 0; i < 10000; ++i) sink = sink + i;
}

TEST(Stopwatch, WallTimeCountsSleepingAndCpuTimeDoesNot) {
  const Stopwatch watch;
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  EXPECT_GE(watch.wall_ms(), 60.0);
  EXPECT_NEAR(watch.seconds(), watch.wall_ms() / 1e3, 0.01);
  EXPECT_LT(watch.cpu_ms(), 30.0);  // asleep: (almost) no CPU time
}

TEST(Stopwatch, CpuTimeCountsWork) {
  const Stopwatch watch;
  burn_cpu(watch, 40.0);
  const double cpu = watch.cpu_ms(), wall = watch.wall_ms();
  EXPECT_GE(cpu, 40.0);
  EXPECT_GE(wall, 0.9 * cpu);  // one busy thread: wall time at least its CPU time (up to the clocks' grain)
}

TEST(Stopwatch, ALapReturnsBothClocksAndStartsTheNext) {
  Stopwatch watch;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const Stopwatch::Lap asleep = watch.lap();
  EXPECT_GE(asleep.wall_ms, 300.0);
  EXPECT_LT(asleep.cpu_ms, 30.0);
  burn_cpu(watch, 30.0);
  const Stopwatch::Lap busy = watch.lap();
  EXPECT_GE(busy.cpu_ms, 30.0);
  EXPECT_GE(busy.wall_ms, 0.9 * busy.cpu_ms);
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const Stopwatch::Lap last = watch.lap();
  EXPECT_LT(last.cpu_ms, 25.0);    // the busy lap's CPU time is not counted again
  EXPECT_LT(last.wall_ms, 250.0);  // nor the first lap's sleep (generous: the machine may be busy)
  EXPECT_GE(last.wall_ms, 10.0);
  burn_cpu(watch, 30.0);
  watch.restart();
  EXPECT_LT(watch.cpu_ms(), 25.0);
}

TEST(Stopwatch, CudaReadingWaitsForTheQueuedWork) {
  SKIP_WITHOUT_GPU();
#ifdef FTMAMBA_WITH_CUDA
  const torch::Device gpu(torch::kCUDA, 0);
  at::cuda::sleep(1);                             // loads the kernel, so that the timed launch below only queues it
  const Stopwatch device_watch(gpu), host_watch;  // the host's clock alone does not wait
  at::cuda::sleep(200'000'000);                   // ~100 ms of GPU clock cycles at 2 GHz, queued asynchronously
  const double host_ms = host_watch.wall_ms();
  const double device_ms = device_watch.wall_ms();
  EXPECT_LT(host_ms, 20.0);
  EXPECT_GT(device_ms, 40.0);
#endif
}

}  // namespace
