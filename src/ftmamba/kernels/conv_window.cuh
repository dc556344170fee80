// defines: the causal conv of one new token over one channel's window, as the decode step's kernels compute it:
// conv_window_silu (the output) and advance_window (the window moved by one). The SSM step, the conv step and
// x_proj's prologue (decode_gemv_cuda) each compute the conv; they share this arithmetic, so that x_proj and the
// SSM step read the same x to the bit. Included by .cu files only.
#pragma once
#include <cstdint>

#include "ftmamba/kernels/cuda_common.cuh"

namespace ftmamba::kernels {

// silu(bias[c] + sum_k weight[c, k] * window[k]) over channel c's window: the width - 1 inputs state[k * stride],
// oldest first, then `newest`. weight: (channels, W) float32; bias: (channels) float32 or null.
template <typename T, int W>
__device__ __forceinline__ float conv_window_silu(const T* state, int64_t stride, T newest, const float* weight,
                                                  const float* bias, int64_t c) {
  float acc = bias ? bias[c] : 0.f;
#pragma unroll
  for (int k = 0; k + 1 < W; ++k) acc += weight[c * W + k] * to_float(state[k * stride]);
  acc += weight[c * W + W - 1] * to_float(newest);
  return acc * sigmoidf(acc);
}

// The window moves by one: the oldest input leaves, the new one is kept as it came (no rounding).
template <typename T, int W>
__device__ __forceinline__ void advance_window(T* state, int64_t stride, T newest) {
  if constexpr (W > 1) {
#pragma unroll
    for (int k = 0; k + 2 < W; ++k) state[k * stride] = state[(k + 1) * stride];
    state[(W - 2) * stride] = newest;
  }
}

}  // namespace ftmamba::kernels
