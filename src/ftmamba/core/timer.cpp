// defines: Stopwatch (see timer.h).
#include "ftmamba/core/timer.h"

#include <torch/cuda.h>

namespace ftmamba {

Stopwatch::Stopwatch(c10::Device device) : device_(device) { restart(); }

void Stopwatch::wait_for_device() const {
  if (device_.is_cuda()) torch::cuda::synchronize(device_.index());
}

void Stopwatch::restart() {
  wait_for_device();
  wall_start_ = std::chrono::steady_clock::now();
  cpu_start_ = process_cpu_ms();
}

double Stopwatch::wall_ms() const {
  wait_for_device();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - wall_start_).count();
}

Stopwatch::Lap Stopwatch::lap() {
  wait_for_device();
  const auto wall_now = std::chrono::steady_clock::now();
  const double cpu_now = process_cpu_ms();
  const Lap lap{std::chrono::duration<double, std::milli>(wall_now - wall_start_).count(), cpu_now - cpu_start_};
  wall_start_ = wall_now;
  cpu_start_ = cpu_now;
  return lap;
}

}  // namespace ftmamba
