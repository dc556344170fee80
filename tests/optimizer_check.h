// defines: multi_tensor_adamw_max_difference, shared by the CPU and GPU optimizer tests: trains two copies of
// a small model for four steps, one with LibTorch's AdamW plus clip_grad_norm_, one with MultiTensorAdamW,
// with clipping active, a changing learning rate, and both parameter groups (weight decayed, bias not), and
// returns the largest parameter difference (NaN if either produced one). nonfinite_steps_change_nothing: the
// same for steps whose loss, or only whose gradient, is not finite.
#pragma once
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "ftmamba/train/multi_tensor_adamw.h"
#include "ftmamba/train/optimizer.h"

namespace ftmamba::test {

inline double multi_tensor_adamw_max_difference(torch::Device device, torch::Dtype dtype) {
  torch::manual_seed(9);
  torch::nn::Linear reference(torch::nn::LinearOptions(6, 4)), other(torch::nn::LinearOptions(6, 4));
  reference->to(device, dtype);
  other->to(device, dtype);
  {
    torch::NoGradGuard g;
    other->weight.copy_(reference->weight);
    other->bias.copy_(reference->bias);
  }
  const torch::Tensor start = reference->bias.detach().clone();
  auto adamw = train::make_optimizer(*reference, 1e-2, 0.1);
  train::MultiTensorAdamW multi(*other, 0.1);
  const auto on = torch::TensorOptions().device(device).dtype(dtype);
  const torch::Tensor x = torch::randn({16, 6}, on), target = torch::randn({16, 4}, on);
  for (int step = 0; step < 4; ++step) {
    const double lr = 1e-2 * (step + 1) / 4.0;
    for (auto& g : adamw->param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
    adamw->zero_grad();
    (reference->forward(x) - target).pow(2).sum().backward();
    const double norm = torch::nn::utils::clip_grad_norm_(reference->parameters(), 0.05);
    EXPECT_GT(norm, 0.05) << "clipping must be active for the comparison to mean anything";
    adamw->step();
    multi.zero_grad();
    (other->forward(x) - target).pow(2).sum().backward();
    multi.step(lr, 0.05);
  }
  // The parameters moved (a step that did nothing would trivially "match" a reference that did nothing).
  EXPECT_GT((reference->bias - start).abs().max().item<double>(), 1e-3);
  return std::max((other->weight - reference->weight).abs().max().item<double>(),
                  (other->bias - reference->bias).abs().max().item<double>());
}

// Two copies of a small model take the same two clean steps through backward_and_apply; one of them also takes,
// between them, a step with an infinite loss and a step with a finite loss but NaN gradients (sqrt at 0). Both
// of those must be flagged and change nothing, not even the step counts that set the bias corrections, so the
// copies end equal. Returns the largest difference of parameters and optimizer state.
inline double nonfinite_steps_change_nothing(torch::Device device) {
  torch::manual_seed(9);
  torch::nn::Linear a(torch::nn::LinearOptions(6, 4)), b(torch::nn::LinearOptions(6, 4));
  a->to(device);
  b->to(device);
  {
    torch::NoGradGuard g;
    b->weight.copy_(a->weight);
    b->bias.copy_(a->bias);
  }
  const torch::Tensor start = a->weight.detach().clone();
  train::MultiTensorAdamW opt_a(*a, 0.1), opt_b(*b, 0.1);
  opt_a.set_lr(1e-2);
  opt_b.set_lr(1e-2);
  const auto on = torch::TensorOptions().device(device);
  const torch::Tensor x = torch::randn({16, 6}, on), target = torch::randn({16, 4}, on);
  const auto clean = [&](torch::nn::Linear& m, train::MultiTensorAdamW& o) {
    o.zero_grad();
    const auto flag = o.backward_and_apply((m->forward(x) - target).pow(2).sum(), 0.05);
    EXPECT_EQ(flag.item<float>(), 0.0f);
  };
  clean(a, opt_a);
  clean(b, opt_b);
  auto bad_x = x.clone();
  bad_x[3][2] = std::numeric_limits<float>::infinity();
  opt_b.zero_grad();
  const auto inf_loss = (b->forward(bad_x) - target).pow(2).sum();
  EXPECT_FALSE(std::isfinite(inf_loss.item<double>()));
  EXPECT_EQ(opt_b.backward_and_apply(inf_loss, 0.05).item<float>(), 1.0f) << "an infinite loss";
  opt_b.zero_grad();
  const auto nan_grad = torch::sqrt((b->forward(x) * 0).pow(2)).sum();  // 0, with 0 * inf = NaN gradients
  EXPECT_EQ(nan_grad.item<double>(), 0.0);
  EXPECT_EQ(opt_b.backward_and_apply(nan_grad, 0.0).item<float>(), 1.0f) << "NaN gradients, finite loss";
  clean(a, opt_a);
  clean(b, opt_b);
  EXPECT_GT((a->weight - start).abs().max().item<double>(), 1e-3) << "the clean steps must move the weights";
  double worst =
      std::max((a->weight - b->weight).abs().max().item<double>(), (a->bias - b->bias).abs().max().item<double>());
  const auto sa = opt_a.state(), sb = opt_b.state();
  EXPECT_EQ(sa.size(), sb.size());
  for (size_t i = 0; i < std::min(sa.size(), sb.size()); ++i)
    worst = std::max(worst,
                     (sa[i].second.to(torch::kFloat64) - sb[i].second.to(torch::kFloat64)).abs().max().item<double>());
  return worst;
}

}  // namespace ftmamba::test
