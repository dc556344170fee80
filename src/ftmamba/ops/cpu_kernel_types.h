// defines: with_cpu_kernel_types (the CPU kernels' type pair for an activation dtype: float64, float32, or
// bfloat16 activations over float32 arithmetic) and activation_ptr (a tensor's data as the kernels' Act type).
#pragma once
#include <torch/torch.h>

#include <type_traits>

#include "ftmamba/kernels/bf16.h"

namespace ftmamba::ops {

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
