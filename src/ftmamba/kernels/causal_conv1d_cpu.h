// defines: CausalConv1dParams / CausalConv1dGrads and the CPU depthwise causal conv1d kernels (optional fused
// SiLU), forward and backward, over raw pointers. No ATen here. Each call runs
// the instruction-set path that cpu_isa() names (cpu_isa.h).
#pragma once
#include <cstdint>

#include "ftmamba/kernels/bf16.h"

namespace ftmamba::kernels {

// Token-major layout. Strides are in elements; every last dimension has stride 1.
//   x : (batch, seqlen, channels)   batch / seqlen strides arbitrary
//   weight : (channels, width) contiguous    bias : (channels) or null
//   out : (batch, seqlen, channels) contiguous
// out[b, t, c] = act(bias[c] + sum_k weight[c, k] * x[b, t - (width - 1) + k, c]), x before t = 0 is 0.
// T is the type of the weight, the bias and all arithmetic; Act, that of x and out (and of dout and dx): T itself,
// or Bf16 with T = float (each work item's rows are widened into float scratch and its outputs rounded back).
template <typename T, typename Act = T>
struct CausalConv1dParams {
  int64_t batch = 0, seqlen = 0, channels = 0, width = 0;
  const Act* x = nullptr;
  int64_t x_batch_stride = 0, x_l_stride = 0;
  const T* weight = nullptr;
  const T* bias = nullptr;
  bool silu = false;
  int num_threads = 1;  // the caller passes LibTorch's intra-op thread count
  Act* out = nullptr;
};

// Gradients, fully overwritten: dout (batch, seqlen, channels) contiguous; dx (batch, seqlen, channels) with a unit
// channel stride and the strides given (a slice of a wider row is fine: the Mamba mixer writes dx into its half of
// in_proj's gradient); dweight (channels, width), dbias (channels) or null.
template <typename T, typename Act = T>
struct CausalConv1dGrads {
  const Act* dout = nullptr;  // (batch, seqlen, channels) contiguous
  Act* dx = nullptr;
  int64_t dx_batch_stride = 0, dx_l_stride = 0;
  T* dweight = nullptr;
  T* dbias = nullptr;
};

void causal_conv1d_fwd_cpu(const CausalConv1dParams<float>& p);
void causal_conv1d_fwd_cpu(const CausalConv1dParams<double>& p);
void causal_conv1d_fwd_cpu(const CausalConv1dParams<float, Bf16>& p);

// Deterministic for a fixed num_threads.
void causal_conv1d_bwd_cpu(const CausalConv1dParams<float>& p, const CausalConv1dGrads<float>& g);
void causal_conv1d_bwd_cpu(const CausalConv1dParams<double>& p, const CausalConv1dGrads<double>& g);
void causal_conv1d_bwd_cpu(const CausalConv1dParams<float, Bf16>& p, const CausalConv1dGrads<float, Bf16>& g);

}  // namespace ftmamba::kernels
