// defines: CausalConv1dCudaParams / CausalConv1dCudaGrads and the CUDA depthwise causal conv1d kernels
// (optional fused SiLU), forward and backward, over raw pointers. No ATen or CUDA headers here.
#pragma once
#include <cstdint>

#include "ftmamba/kernels/cuda_common.h"

namespace ftmamba::kernels {

// Widest kernel the CUDA path takes (Mamba uses 4); wider ones go through LibTorch's conv1d.
constexpr int64_t kConvMaxWidth = 4;

// Token-major layout, as the CPU kernel:
//   x   : (batch, seqlen, channels) in `dtype`, batch / seqlen strides arbitrary, unit channel stride
//   weight : (channels, width) float32 contiguous     bias : (channels) float32, or null
//   out : (batch, seqlen, channels) in `dtype`, contiguous
// out[b, t, c] = act(bias[c] + sum_k weight[c, k] * x[b, t - (width - 1) + k, c]), x before t = 0 is 0.
struct CausalConv1dCudaParams {
  int64_t batch = 0, seqlen = 0, channels = 0, width = 0;
  CudaDtype dtype = CudaDtype::kFloat32;
  const void* x = nullptr;
  int64_t x_batch_stride = 0, x_l_stride = 0;
  const float* weight = nullptr;
  const float* bias = nullptr;
  bool silu = false;
  void* out = nullptr;
  void* stream = nullptr;  // cudaStream_t
};

// Number of partial sums the backward writes for dweight / dbias; the caller sums them over axis 0.
int64_t causal_conv1d_bwd_groups(const CausalConv1dCudaParams& p);

// Buffers are contiguous and fully overwritten:
//   dout, dx : (batch, seqlen, channels) in `dtype`
//   dweight_part : (groups, channels, width) float32     dbias_part : (groups, channels) float32, when bias is given
struct CausalConv1dCudaGrads {
  const void* dout = nullptr;
  void* dx = nullptr;
  float* dweight_part = nullptr;
  float* dbias_part = nullptr;
};

// Throw std::runtime_error on a launch failure or width outside 1..kConvMaxWidth. The backward is deterministic.
void causal_conv1d_fwd_cuda(const CausalConv1dCudaParams& p);
void causal_conv1d_bwd_cuda(const CausalConv1dCudaParams& p, const CausalConv1dCudaGrads& g);

}  // namespace ftmamba::kernels
