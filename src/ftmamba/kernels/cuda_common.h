// defines: what the CUDA kernels share with their C++ callers, without any CUDA header: the element type of
// the activations (CudaDtype) and the device facts the launch shapes depend on.
#pragma once
#include <cstdint>

// Marks a small function in these headers as callable from host and device code alike.
#ifdef __CUDACC__
#define FTMAMBA_HOST_DEVICE __host__ __device__
#else
#define FTMAMBA_HOST_DEVICE
#endif

namespace ftmamba::kernels {

// Activations (u, delta, z, B, C, x, outputs and their gradients) come in one of these; parameters (A, D,
// delta_bias, conv weight and bias) and all accumulation stay float32.
enum class CudaDtype : int { kFloat32 = 0, kBFloat16 = 1, kFloat16 = 2 };

// Streaming multiprocessors of the current device (cached per device); launch shapes are sized from it.
int cuda_sm_count();
// The most shared memory a block of the current device may opt in to, in bytes (cached per device; 0 where the
// device cannot tell).
int cuda_shared_memory_opt_in();

}  // namespace ftmamba::kernels
