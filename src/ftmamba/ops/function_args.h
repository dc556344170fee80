// defines: the small tensor helpers the custom autograd Functions (CPU and CUDA scan, causal conv1d) share:
// optional inputs passed as placeholders, unit-last-stride and dtype fix-ups of possibly undefined tensors.
#pragma once
#include <torch/torch.h>

namespace ftmamba::ops::function_args {

// LibTorch 1.13's Function::apply reads every tensor argument's device, so optional inputs travel as empty
// placeholders (with a flag or bit mask saying which ones are real) and are undefined again inside.
inline torch::Tensor placeholder_if_undefined(const torch::Tensor& t, const torch::Tensor& like) {
  return t.defined() ? t : torch::empty({0}, like.options());
}
inline torch::Tensor undefined_unless(const torch::Tensor& t, bool present) { return present ? t : torch::Tensor(); }

// Which optional inputs of the selective scan are real (the bit mask above).
constexpr int64_t kScanHasD = 1, kScanHasZ = 2, kScanHasBias = 4;

// The kernels need a unit stride on the last dim only; any other layout is copied (not the model's case).
inline torch::Tensor unit_last_stride(const torch::Tensor& t) {
  if (!t.defined()) return t;
  return (t.size(-1) == 1 || t.stride(-1) == 1) ? t : t.contiguous();
}

inline torch::Tensor contiguous_or_undefined(const torch::Tensor& t) { return t.defined() ? t.contiguous() : t; }

// t in `dtype` (through autograd, so the original keeps receiving gradients in its own dtype); undefined stays so.
// On the CPU a strided view is made contiguous first: LibTorch 1.13 converts the dtype of a non-contiguous
// tensor element by element (a (2560, 13, 256) bf16 slice of a 512-wide row: 37 ms, against 1.0 ms for the
// same-dtype copy plus 1.1 ms for the contiguous conversion).
inline torch::Tensor cast_or_undefined(const torch::Tensor& t, torch::ScalarType dtype) {
  if (!t.defined() || t.scalar_type() == dtype) return t;
  return (t.device().is_cpu() && !t.is_contiguous()) ? t.contiguous().to(dtype) : t.to(dtype);
}

}  // namespace ftmamba::ops::function_args
