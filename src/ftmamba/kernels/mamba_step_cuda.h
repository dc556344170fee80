// defines: the CUDA kernels of one recurrent Mamba step (a language model's decode step), over raw pointers:
//   conv_step: the causal conv's window moves by one token, x = silu(conv) of the new window;
//   ssm_step:  delta = softplus(dt_proj(dt) + bias), the SSM state advanced by one token in place, and the
//              gated output y = (C h + D x) * silu(z).
// Each replaces a dozen LibTorch element-wise kernels a layer; ops/mamba_step.h holds the LibTorch reference.
// No ATen or CUDA headers here.
#pragma once
#include <cstdint>

#include "ftmamba/kernels/cuda_common.h"

namespace ftmamba::kernels {

// x_in: (batch, channels) in `dtype`, row stride x_stride, unit channel stride (the x half of in_proj's output)
// conv_state: (batch, width - 1, channels) in `dtype`, contiguous, the last inputs oldest first; advanced in place
// weight: (channels, width) float32 contiguous     bias: (channels) float32, or null
// out: (batch, channels) in `dtype`, contiguous: silu(bias + sum_k weight[c, k] * window[k])
struct ConvStepCudaParams {
  int64_t batch = 0, channels = 0, width = 0;
  CudaDtype dtype = CudaDtype::kFloat32;
  const void* x_in = nullptr;
  int64_t x_stride = 0;
  void* conv_state = nullptr;
  const float* weight = nullptr;
  const float* bias = nullptr;
  void* out = nullptr;
  void* stream = nullptr;  // cudaStream_t
};

// x: (batch, channels) in `dtype`, contiguous             z: (batch, channels) in `dtype`, row stride z_stride
// x_dbl: (batch, rank + 2 d_state) in `dtype`, row stride x_dbl_stride: dt | B | C
// dt_weight: (channels, rank) in `dt_weight_dtype`, contiguous; or null with delta: (batch, channels) in `dtype`,
// contiguous, dt_proj(dt) computed outside (a LoRA dt_proj)
// dt_bias, D: (channels) float32   A_log: (channels, d_state) float32, A = -exp(A_log)
// state: (batch, channels, d_state) float32, contiguous; advanced in place
// out: (batch, channels) in `dtype`, contiguous
// With conv_state set, x is null and the step first does conv_step's work (ConvStepCudaParams: conv_x_in and
// conv_x_stride are its x_in and x_stride): x is the conv's output and the window advances.
// Launched so that it may start while the kernel before it finishes (kernels/dependent_launch.cuh).
struct SsmStepCudaParams {
  int64_t batch = 0, channels = 0, rank = 0, d_state = 0;
  CudaDtype dtype = CudaDtype::kFloat32, dt_weight_dtype = CudaDtype::kFloat32;
  const void* x = nullptr;
  const void* x_dbl = nullptr;
  int64_t x_dbl_stride = 0;
  const void* z = nullptr;
  int64_t z_stride = 0;
  const void* dt_weight = nullptr;
  const void* delta = nullptr;
  const float* dt_bias = nullptr;
  const float* A_log = nullptr;
  const float* D = nullptr;
  float* state = nullptr;
  void* out = nullptr;
  const void* conv_x_in = nullptr;
  int64_t conv_x_stride = 0;
  void* conv_state = nullptr;
  const float* conv_weight = nullptr;
  const float* conv_bias = nullptr;
  int64_t conv_width = 0;
  void* stream = nullptr;  // cudaStream_t
};

// Throw std::runtime_error on a launch failure, or a width outside 1..kConvMaxWidth (causal_conv1d_cuda.h).
void conv_step_cuda(const ConvStepCudaParams& p);
void ssm_step_cuda(const SsmStepCudaParams& p);

}  // namespace ftmamba::kernels
