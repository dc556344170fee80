#include "ftmamba/nn/rms_norm.h"

#include "ftmamba/ops/add_rms_norm.h"

namespace ftmamba::nn {

RMSNormImpl::RMSNormImpl(int64_t dim, double eps_) : eps(eps_) {
  weight = register_parameter("weight", torch::ones({dim}));
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) { return ops::rms_norm(x, weight, eps); }

}  // namespace ftmamba::nn
