#include "ftmamba/core/threads.h"

#include <dlfcn.h>
#include <torch/torch.h>

#include <atomic>
#include <cstdlib>
#include <mutex>

namespace ftmamba {
namespace {

constexpr int kNoOverride = -1;
std::atomic<int> g_override{kNoOverride};

// OpenBLAS's pthread pool keeps its workers spinning (sched_yield) for 2^28 cycles, about 0.1 s, after each
// product before they sleep. ftmamba's own kernels (the scan, the conv) run between the products on the same
// cores, and the spinning workers take them away: at the demo size on two cores, the training step ran 1.3x faster
// with the workers asleep after 2^4 cycles (docs/BENCHMARKS.md). The library reads OPENBLAS_THREAD_TIMEOUT when
// it loads, before main(): so it is set here, read again, and the pool stopped, to restart with it at the next
// product. A value in the environment already (the user's) is left as it is; so is a BLAS other than OpenBLAS's
// pthread build (no such symbols).
void quiet_blas_workers() {
  static std::once_flag once;
  std::call_once(once, [] {
    using ReadEnv = void (*)();
    using Shutdown = int (*)();
    auto read_env = reinterpret_cast<ReadEnv>(::dlsym(RTLD_DEFAULT, "openblas_read_env"));
    auto shutdown = reinterpret_cast<Shutdown>(::dlsym(RTLD_DEFAULT, "blas_thread_shutdown_"));
    if (!read_env || !shutdown || std::getenv("OPENBLAS_THREAD_TIMEOUT")) return;
    ::setenv("OPENBLAS_THREAD_TIMEOUT", "4", /*overwrite=*/0);
    read_env();
    shutdown();
  });
}

}  // namespace

void set_cpu_threads(int n) {
  if (const int fixed = g_override.load(); fixed != kNoOverride) n = fixed;
  quiet_blas_workers();
  if (n <= 0) return;
  torch::set_num_threads(n);
  // Looked up at run time: the BLAS behind LibTorch may not be OpenBLAS (e.g. MKL in pip builds).
  using SetThreads = void (*)(int);
  if (auto fn = reinterpret_cast<SetThreads>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) fn(n);
}

void override_cpu_threads(int n) {
  g_override.store(n < 0 ? 0 : n);
  set_cpu_threads(n);
}

}  // namespace ftmamba
