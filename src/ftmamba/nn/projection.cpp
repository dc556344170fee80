#include "ftmamba/nn/projection.h"

#include <cmath>
#include <stdexcept>

#include "ftmamba/ops/decode_linear.h"

namespace ftmamba::nn {

ProjectionImpl::ProjectionImpl(int64_t in_features, int64_t out_features, bool with_bias) {
  // torch.nn.Linear's default init: kaiming_uniform(a=sqrt(5)) == U(+-1/sqrt(in)).
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
  weight = register_parameter("weight", torch::empty({out_features, in_features}).uniform_(-bound, bound));
  if (with_bias) bias = register_parameter("bias", torch::empty({out_features}).uniform_(-bound, bound));
}

torch::Tensor ProjectionImpl::lora_update(const torch::Tensor& x, const torch::Tensor& B_rows) {
  const torch::Tensor in = (lora_dropout > 0 && is_training()) ? torch::dropout(x, lora_dropout, true) : x;
  // The scaling goes on the rank-wide intermediate, the smallest tensor of the three.
  return torch::linear(torch::linear(in, lora_A->weight).mul(lora_scaling), B_rows);
}

torch::Tensor ProjectionImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = torch::linear(x, weight, bias);
  return has_lora() ? y + lora_update(x, lora_B->weight) : y;
}

torch::Tensor ProjectionImpl::forward_without_bias(const torch::Tensor& x) {
  torch::Tensor y = torch::linear(x, weight);
  return has_lora() ? y + lora_update(x, lora_B->weight) : y;
}

torch::Tensor ProjectionImpl::forward_rows(const torch::Tensor& x) {
  return has_lora() ? forward(x) : ops::linear_rows(x, weight, bias);
}

torch::Tensor ProjectionImpl::forward_rows_without_bias(const torch::Tensor& x) {
  return has_lora() ? forward_without_bias(x) : ops::linear_rows(x, weight);
}

torch::Tensor ProjectionImpl::forward_outputs(const torch::Tensor& x, int64_t begin, int64_t count) {
  torch::Tensor y =
      torch::linear(x, weight.narrow(0, begin, count), bias.defined() ? bias.narrow(0, begin, count) : bias);
  return has_lora() ? y + lora_update(x, lora_B->weight.narrow(0, begin, count)) : y;
}

torch::Tensor ProjectionImpl::applied_weight() {
  if (!has_lora()) return weight;
  if (lora_dropout > 0 && is_training()) return torch::Tensor();
  return weight + lora_weight_update();
}

torch::Tensor ProjectionImpl::lora_weight_update() {
  return torch::mm(lora_B->weight, lora_A->weight).mul(lora_scaling).to(weight.scalar_type());
}

void ProjectionImpl::attach_lora(const LoraOptions& o) {
  if (has_lora()) throw std::runtime_error("Projection already has a LoRA adapter");
  if (o.rank < 1) throw std::invalid_argument("LoRA rank must be at least 1, got " + std::to_string(o.rank));
  if (o.dropout < 0 || o.dropout >= 1)
    throw std::invalid_argument("LoRA dropout must be in [0, 1), got " + std::to_string(o.dropout));
  const auto opts = weight.options();
  lora_A = register_module("lora_A", torch::nn::Linear(torch::nn::LinearOptions(in_features(), o.rank).bias(false)));
  lora_B = register_module("lora_B", torch::nn::Linear(torch::nn::LinearOptions(o.rank, out_features()).bias(false)));
  torch::NoGradGuard no_grad;
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_features()));
  lora_A->weight.set_data(torch::empty({o.rank, in_features()}, opts).uniform_(-bound, bound));
  lora_B->weight.set_data(torch::zeros({out_features(), o.rank}, opts));
  lora_scaling = o.alpha / static_cast<double>(o.rank);
  lora_dropout = o.dropout;
  lora_A->train(is_training());
  lora_B->train(is_training());
}

void ProjectionImpl::merge_lora() {
  if (!has_lora()) return;
  {
    torch::NoGradGuard no_grad;
    weight.add_(lora_weight_update());
  }
  unregister_module("lora_A");
  unregister_module("lora_B");
  lora_A = torch::nn::Linear{nullptr};
  lora_B = torch::nn::Linear{nullptr};
  lora_scaling = 0.0;
  lora_dropout = 0.0;
}

}  // namespace ftmamba::nn
