// defines: linear_rows (see linear_rows.h).
#include "ftmamba/ops/linear_rows.h"

namespace ftmamba::ops {

torch::Tensor linear_rows(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  if (x.size(0) != 1) return torch::linear(x, weight, bias);
  const auto v = x.squeeze(0).to(weight.scalar_type());
  return (bias.defined() ? torch::addmv(bias, weight, v) : torch::mv(weight, v)).unsqueeze(0);
}

}  // namespace ftmamba::ops
