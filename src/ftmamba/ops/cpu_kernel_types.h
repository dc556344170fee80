// defines: the CPU kernels' types: cpu_activation_dtype / cpu_parameter_dtype (what an op casts its inputs to),
// with_cpu_kernel_types (the type pair for an activation dtype: float64, float32, or bfloat16 activations over
// float32 arithmetic) and activation_ptr (a tensor's data as the kernels' Act type).
#pragma once
#include <torch/torch.h>

#include <type_traits>

#include "ftmamba/kernels/bf16.h"

namespace ftmamba::ops {

// The dtype the CPU kernels take activations of dtype `st` in: st itself for float64, float32 and bfloat16 (whose
// rows the kernels widen themselves), else float32 (float16 is cast there and back, through autograd).
inline torch::ScalarType cpu_activation_dtype(torch::ScalarType st) {
  return (st == torch::kFloat64 || st == torch::kFloat32 || st == torch::kBFloat16) ? st : torch::kFloat32;
}
// And the parameters (weights, biases, A, D) beside such activations: float64 with float64, else float32.
inline torch::ScalarType cpu_parameter_dtype(torch::ScalarType st) {
  return st == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
}

// Calls f.template operator()<T, Act>() for activations of dtype `st`: (double, double), (float, float) or
// (float, kernels::Bf16). T is the dtype of the parameters, the state and the arithmetic.
template <typename F>
void with_cpu_kernel_types(torch::ScalarType st, const char* op, F&& f) {
  switch (st) {
    case torch::kFloat64:
      f.template operator()<double, double>();
      break;
    case torch::kFloat32:
      f.template operator()<float, float>();
      break;
    case torch::kBFloat16:
      f.template operator()<float, kernels::Bf16>();
      break;
    default:
      TORCH_CHECK(false, op, ": no CPU kernel for ", st);
  }
}

// t's data as Act (kernels::Bf16: LibTorch's BFloat16, the same 16 bits).
template <typename Act>
Act* activation_ptr(const torch::Tensor& t) {
  if constexpr (std::is_same_v<Act, kernels::Bf16>) {
    return reinterpret_cast<kernels::Bf16*>(t.data_ptr<at::BFloat16>());
  } else {
    return t.data_ptr<Act>();
  }
}

}  // namespace ftmamba::ops
