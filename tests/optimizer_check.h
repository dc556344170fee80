// defines: multi_tensor_adamw_max_difference, shared by the CPU and GPU optimizer tests: trains two copies of
// a small model for four steps, one with LibTorch's AdamW plus clip_grad_norm_, one with MultiTensorAdamW,
// with clipping active, a changing learning rate, and both parameter groups (weight decayed, bias not), and
// returns the largest parameter difference (NaN if either produced one).
#pragma once
#include <gtest/gtest.h>
#include <torch/torch.h>

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

}  // namespace ftmamba::test
