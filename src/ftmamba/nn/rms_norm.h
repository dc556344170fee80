// defines: RMSNorm, y = x / sqrt(mean(x^2) + eps) * weight over the last dimension (parameter "weight").
#pragma once
#include <torch/torch.h>

namespace ftmamba::nn {

class RMSNormImpl : public torch::nn::Module {
 public:
  explicit RMSNormImpl(int64_t dim, double eps = 1e-5);
  torch::Tensor forward(const torch::Tensor& x);  // (..., dim) -> (..., dim)
  // The same, for a matmul to read: under autocast on x's device in autocast's dtype (what the matmul casts it to
  // anyway, once instead of once per reader), else as forward.
  torch::Tensor forward_for_matmul(const torch::Tensor& x);
  torch::Tensor weight;  // (dim), init 1
  double eps;
};
TORCH_MODULE(RMSNorm);

}  // namespace ftmamba::nn
