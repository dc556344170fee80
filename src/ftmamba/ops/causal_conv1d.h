// defines: causal_conv1d (depthwise causal convolution over the sequence with optional fused SiLU, as a
// torch::autograd::Function on the CPU kernel) and causal_conv1d_ref (plain LibTorch, for tests).
#pragma once
#include <torch/torch.h>

namespace ftmamba::ops {

// x: (batch, L, channels) with a unit last-dim stride (a slice of in_proj's output is fine)
// weight: (channels, width)   bias: (channels) or undefined
// out[b, t, c] = act(bias[c] + sum_{k<width} weight[c, k] * x[b, t - (width-1) + k, c]), x[<0] = 0,
// act = SiLU when silu, else identity. Returns (batch, L, channels) contiguous, in x's dtype: float64, float32 or
// bfloat16 (computed in float32), others through float32.
torch::Tensor causal_conv1d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias, bool silu);

torch::Tensor causal_conv1d_ref(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                                bool silu);

}  // namespace ftmamba::ops
