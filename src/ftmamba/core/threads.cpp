#include "ftmamba/core/threads.h"

#include <dlfcn.h>
#include <torch/torch.h>

namespace ftmamba {

void set_cpu_threads(int n) {
  if (n <= 0) return;
  torch::set_num_threads(n);
  // Looked up at run time: the BLAS behind LibTorch may not be OpenBLAS (e.g. MKL in pip builds).
  using SetThreads = void (*)(int);
  if (auto fn = reinterpret_cast<SetThreads>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) fn(n);
}

}  // namespace ftmamba
