// defines: rms_norm (the RMS norm's arithmetic, nn::RMSNorm's forward), and add_rms_norm, a decode step's residual
// add and the next RMS norm in one: on a CUDA device one kernel (kernels/rms_norm_cuda.h), elsewhere and for inputs
// the kernel does not take, plain LibTorch (add_rms_norm_reference, which the kernel is tested against).
#pragma once
#include <torch/torch.h>

#include <optional>

namespace ftmamba::ops {

// x (..., dim) -> x * rsqrt(mean(x^2) + eps) * weight over the last dimension; the statistics in at least float32,
// so reduced-precision inputs do not lose the scale. In out_dtype (default: x's and weight's promoted dtype), so
// that a norm before a matmul under autocast gives the matmul's dtype once for all its readers (a LoRA
// projection's base and adapter each cast a float32 input themselves). Under autograd, one node that keeps x and
// its reciprocal RMS (rms_norm_reference, the same arithmetic composed of LibTorch ops, keeps x * rstd as well).
torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps,
                       std::optional<torch::ScalarType> out_dtype = std::nullopt);
torch::Tensor rms_norm_reference(const torch::Tensor& x, const torch::Tensor& weight, double eps);

// residual (batch, dim), float32 (float64 in the tests): residual += delta in place when delta is defined
// ((batch, dim), any floating dtype). -> (batch, dim) in out_dtype: residual * rsqrt(mean(residual^2) + eps) * weight.
torch::Tensor add_rms_norm(torch::Tensor& residual, const torch::Tensor& delta, const torch::Tensor& weight, double eps,
                           torch::ScalarType out_dtype);
torch::Tensor add_rms_norm_reference(torch::Tensor& residual, const torch::Tensor& delta, const torch::Tensor& weight,
                                     double eps, torch::ScalarType out_dtype);

}  // namespace ftmamba::ops
