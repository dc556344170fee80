#include "ftmamba/nn/rms_norm.h"

#include "ftmamba/ops/add_rms_norm.h"
#include "ftmamba/ops/precision.h"

namespace ftmamba::nn {

RMSNormImpl::RMSNormImpl(int64_t dim, double eps_) : eps(eps_) {
  weight = register_parameter("weight", torch::ones({dim}));
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) { return ops::rms_norm(x, weight, eps); }

torch::Tensor RMSNormImpl::forward_for_matmul(const torch::Tensor& x) {
  const auto autocast = ops::current_autocast(x.device().type());
  return ops::rms_norm(x, weight, eps, autocast.enabled ? std::optional(autocast.dtype) : std::nullopt);
}

}  // namespace ftmamba::nn
