#include "ftmamba/core/threads.h"

#include <dlfcn.h>
#include <torch/torch.h>

#include <atomic>

namespace ftmamba {
namespace {

constexpr int kNoOverride = -1;
std::atomic<int> g_override{kNoOverride};

}  // namespace

void set_cpu_threads(int n) {
  if (const int fixed = g_override.load(); fixed != kNoOverride) n = fixed;
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
