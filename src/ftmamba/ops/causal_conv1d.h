// defines: causal_conv1d (depthwise causal convolution over the sequence with optional fused SiLU, as a
// torch::autograd::Function on the CPU kernel), causal_conv1d_ref (plain LibTorch, for tests), and the raw CPU
// forward / backward calls behind the Function (cpu_conv), which fused nodes (mamba_mix) call inside their own.
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

// The conv's tensors as its kernels take them, on the CPU and on a GPU: x (batch, L, channels) with a unit last
// stride; weight (channels, width) and bias (channels, or undefined) contiguous in the parameters' dtype (float32,
// or float64 with a float64 x on the CPU).
struct ConvInputs {
  torch::Tensor x, weight, bias;
  bool silu = false;
};

struct ConvGradients {
  torch::Tensor dx, dweight, dbias;  // dbias undefined without a bias
};

namespace cpu_conv {

// out: (batch, L, channels) contiguous in x's dtype. x float64, float32 or bfloat16.
void forward_into(const ConvInputs& in, const torch::Tensor& out);
// dout: (batch, L, channels). dx_into: where dx goes, a (batch, L, channels) view with a unit last stride (a half
// of in_proj's gradient), or undefined for a new tensor; g.dx is that view.
ConvGradients backward(const ConvInputs& in, const torch::Tensor& dout, const torch::Tensor& dx_into = {});

}  // namespace cpu_conv

}  // namespace ftmamba::ops
