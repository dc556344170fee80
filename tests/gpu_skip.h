// defines: gpu_unavailable_reason and SKIP_WITHOUT_GPU, which GPU tests start with: without a GPU or without
// the CUDA build they skip, saying which.
#pragma once
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

namespace ftmamba::test {

// Why the GPU tests cannot run here, or "" when they can.
inline std::string gpu_unavailable_reason() {
#ifndef FTMAMBA_WITH_CUDA
  return "built without the CUDA kernels (needs nvcc and a CUDA LibTorch; see README, GPU build)";
#else
  if (!torch::cuda::is_available()) return "no CUDA device visible";
  return "";
#endif
}

}  // namespace ftmamba::test

#define SKIP_WITHOUT_GPU()                                                               \
  do {                                                                                   \
    if (const std::string why = ::ftmamba::test::gpu_unavailable_reason(); !why.empty()) \
      GTEST_SKIP() << "GPU test skipped: " << why;                                       \
  } while (0)
