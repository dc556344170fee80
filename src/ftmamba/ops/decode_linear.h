// defines: the matrix products of a decode step, a few rows at a time: linear_rows, and the two that do the work
// before them on their input in the same call, add_rms_norm_linear (the residual add and the layer's norm) and
// conv_linear (the causal conv of the new token, for x_proj). On a CUDA device each is one kernel
// (kernels/decode_gemv_cuda.h) when it takes the tensors; elsewhere, and otherwise, plain LibTorch: the *_reference
// functions, which the kernel is tested against, and which compose add_rms_norm_reference and conv_step_reference.
#pragma once
#include <torch/torch.h>

namespace ftmamba::ops {

// linear(x, weight, bias) for x (rows, in) -> (rows, out) in the weight's dtype (x cast to it). One row on the CPU
// is a matrix-vector product: LibTorch 1.13 runs linear() of a (1, in) matrix as sgemm, which repacks the whole
// weight on every call (sgemm_incopy was 60% of decode time in perf at the 130M shape); mv runs sgemv.
torch::Tensor linear_rows(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias = {});
torch::Tensor linear_rows_reference(const torch::Tensor& x, const torch::Tensor& weight,
                                    const torch::Tensor& bias = {});

struct NormLinear {
  torch::Tensor out;       // (rows, out) in the weight's dtype
  torch::Tensor residual;  // (rows, in) float32: residual + delta (a new tensor; the given one is left as it was)
};

// residual (rows, in) float32 (float64 in the tests), delta (rows, in) or undefined, norm_weight (in),
// weight (out, in): out = linear_rows(rms_norm(residual + delta) * norm_weight, weight).
NormLinear add_rms_norm_linear(const torch::Tensor& residual, const torch::Tensor& delta,
                               const torch::Tensor& norm_weight, double eps, const torch::Tensor& weight);
NormLinear add_rms_norm_linear_reference(const torch::Tensor& residual, const torch::Tensor& delta,
                                         const torch::Tensor& norm_weight, double eps, const torch::Tensor& weight);

// x_in (rows, channels), conv_state (rows, width - 1, channels), conv_weight (channels, width), conv_bias
// (channels) or undefined, weight (out, channels): linear_rows(conv_step(x_in, conv_state, ...), weight), the
// window read but not advanced (ssm_step advances it: SsmStepInputs::conv_state).
torch::Tensor conv_linear(const torch::Tensor& x_in, const torch::Tensor& conv_state, const torch::Tensor& conv_weight,
                          const torch::Tensor& conv_bias, const torch::Tensor& weight);
torch::Tensor conv_linear_reference(const torch::Tensor& x_in, const torch::Tensor& conv_state,
                                    const torch::Tensor& conv_weight, const torch::Tensor& conv_bias,
                                    const torch::Tensor& weight);

}  // namespace ftmamba::ops
