// defines: conv_step and ssm_step, the two element-wise halves of one recurrent Mamba step (nn::Mamba::step, a
// language model's decode step), around its projections. On a CUDA device each is one kernel
// (kernels/mamba_step_cuda.h); elsewhere, and for inputs the kernels do not take, plain LibTorch: the *_reference
// functions, which the kernels are tested against.
#pragma once
#include <torch/torch.h>

namespace ftmamba::ops {

// x_in (batch, channels): the newest input; conv_state (batch, width - 1, channels): the inputs before it, oldest
// first, advanced in place (replaced by a contiguous tensor of x_in's dtype when it is neither).
// weight (channels, width), bias (channels) or undefined. -> (batch, channels) silu(bias + weight . window).
torch::Tensor conv_step(const torch::Tensor& x_in, torch::Tensor& conv_state, const torch::Tensor& weight,
                        const torch::Tensor& bias);
torch::Tensor conv_step_reference(const torch::Tensor& x_in, torch::Tensor& conv_state, const torch::Tensor& weight,
                                  const torch::Tensor& bias);

struct SsmStepInputs {
  torch::Tensor x;          // (batch, d_inner): the conv's output; or undefined, with the conv's inputs below
  torch::Tensor x_dbl;      // (batch, rank + 2 d_state): x_proj's output, dt | B | C
  torch::Tensor z;          // (batch, d_inner): the gate
  torch::Tensor dt_weight;  // (d_inner, rank): dt_proj's weight, applied here; undefined when `delta` is given
  torch::Tensor delta;      // (batch, d_inner): dt_proj(dt) without its bias, computed outside (a LoRA dt_proj)
  torch::Tensor dt_bias;    // (d_inner)
  torch::Tensor A_log;      // (d_inner, d_state): A = -exp(A_log)
  torch::Tensor D;          // (d_inner)
  // With x undefined, ssm_step first does conv_step(x_in, *conv_state, conv_weight, conv_bias) (advancing the
  // window) and takes its output as x: on a GPU in the same kernel. Decode does this after conv_linear.
  torch::Tensor x_in{};                      // (batch, d_inner): the conv's newest input
  torch::Tensor* conv_state = nullptr;       // (batch, width - 1, d_inner)
  torch::Tensor conv_weight{}, conv_bias{};  // (d_inner, width), (d_inner) or undefined
};

// state (batch, d_inner, d_state), float32 (float64 in the tests), advanced in place by one token:
//   delta = softplus(dt_proj(dt) + dt_bias), h = exp(delta A) h + delta B x.
// -> (batch, d_inner) in x's (or x_in's) dtype: (C h + D x) * silu(z).
torch::Tensor ssm_step(const SsmStepInputs& in, torch::Tensor& state);
torch::Tensor ssm_step_reference(const SsmStepInputs& in, torch::Tensor& state);

}  // namespace ftmamba::ops
