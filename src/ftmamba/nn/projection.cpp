#include "ftmamba/nn/projection.h"

#include <cmath>

namespace ftmamba::nn {

ProjectionImpl::ProjectionImpl(int64_t in_features, int64_t out_features, bool with_bias) {
  // torch.nn.Linear's default init: kaiming_uniform(a=sqrt(5)) == U(+-1/sqrt(in)).
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
  weight = register_parameter("weight", torch::empty({out_features, in_features}).uniform_(-bound, bound));
  if (with_bias) bias = register_parameter("bias", torch::empty({out_features}).uniform_(-bound, bound));
}

torch::Tensor ProjectionImpl::forward(const torch::Tensor& x) { return torch::linear(x, weight, bias); }

torch::Tensor ProjectionImpl::forward_without_bias(const torch::Tensor& x) { return torch::linear(x, weight); }

torch::Tensor ProjectionImpl::forward_outputs(const torch::Tensor& x, int64_t begin, int64_t count) {
  return torch::linear(x, weight.narrow(0, begin, count), bias.defined() ? bias.narrow(0, begin, count) : bias);
}

}  // namespace ftmamba::nn
