// defines: MultiTensorAdamW (see multi_tensor_adamw.h).
#include "ftmamba/train/multi_tensor_adamw.h"

#include <ATen/ATen.h>
#include <torch/version.h>

#include <cmath>
#include <map>
#include <optional>

#include "ftmamba/ops/precision.h"
#include "ftmamba/train/optimizer.h"

// LibTorch 2.1 added the fused AdamW overload with a tensor learning rate and foreach ops with a tensor scalar.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
#define FTMAMBA_FUSED_ADAMW 1
#endif

namespace ftmamba::train {

bool MultiTensorAdamW::capturable() {
#ifdef FTMAMBA_FUSED_ADAMW
  return true;
#else
  return false;
#endif
}

MultiTensorAdamW::MultiTensorAdamW(torch::nn::Module& model, double weight_decay, double beta1, double beta2,
                                   double eps)
    : beta1_(beta1), beta2_(beta2), eps_(eps) {
  torch::NoGradGuard no_grad;
  // One group per (decay or not, dtype): a fused kernel takes tensors of one dtype.
  std::map<std::pair<bool, int>, size_t> group_of;
  for (const auto& p : model.named_parameters()) {
    const torch::Tensor& w = p.value();
    if (!w.requires_grad()) continue;
    const bool no_decay = is_no_decay_parameter(p.key());
    const auto key = std::make_pair(no_decay, static_cast<int>(w.scalar_type()));
    auto [it, fresh] = group_of.emplace(key, groups_.size());
    if (fresh) {
      groups_.emplace_back();
      groups_.back().weight_decay = no_decay ? 0.0 : weight_decay;
    }
    Group& g = groups_[it->second];
    g.params.push_back(w);
    g.exp_avg.push_back(torch::zeros_like(w));
    g.exp_avg_sq.push_back(torch::zeros_like(w));
    g.host_steps.push_back(0);
  }
#ifdef FTMAMBA_FUSED_ADAMW
  fused_ = !groups_.empty() && groups_.front().params.front().is_cuda();
#endif
  if (!fused_) return;
  const auto f32 = groups_.front().params.front().options().dtype(torch::kFloat32);
  lr_ = torch::zeros({}, f32);
  for (auto& g : groups_)
    for (size_t i = 0; i < g.params.size(); ++i) g.steps.push_back(torch::zeros({}, f32));
}

std::vector<std::pair<std::string, torch::Tensor>> MultiTensorAdamW::state() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const Group& g = groups_[gi];
    for (size_t i = 0; i < g.params.size(); ++i) {
      const std::string key = std::to_string(gi) + "." + std::to_string(i) + ".";
      out.emplace_back(key + "exp_avg", g.exp_avg[i]);
      out.emplace_back(key + "exp_avg_sq", g.exp_avg_sq[i]);
      out.emplace_back(key + "step", fused_ ? g.steps[i] : torch::tensor(g.host_steps[i], torch::kInt64));
    }
  }
  return out;
}

void MultiTensorAdamW::load_state(const std::map<std::string, torch::Tensor>& state, const std::string& prefix) {
  torch::NoGradGuard no_grad;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    Group& g = groups_[gi];
    for (size_t i = 0; i < g.params.size(); ++i) {
      const std::string key = prefix + std::to_string(gi) + "." + std::to_string(i) + ".";
      const auto& avg = state.at(key + "exp_avg");
      const auto& avg_sq = state.at(key + "exp_avg_sq");
      if (!avg.sizes().equals(g.exp_avg[i].sizes()) || !avg_sq.sizes().equals(g.exp_avg_sq[i].sizes()))
        throw std::out_of_range(key + ": shape differs from the model's");
      g.exp_avg[i].copy_(avg);
      g.exp_avg_sq[i].copy_(avg_sq);
      const auto& step = state.at(key + "step");
      if (fused_)
        g.steps[i].copy_(step);
      else
        g.host_steps[i] = step.to(torch::kFloat64).item<double>();
    }
  }
}

void MultiTensorAdamW::zero_grad() {
  for (auto& g : groups_)
    for (auto& p : g.params) p.mutable_grad().reset();
}

std::vector<torch::Tensor> MultiTensorAdamW::gradients() const {
  std::vector<torch::Tensor> grads;
  for (const auto& g : groups_)
    for (const auto& p : g.params)
      if (p.grad().defined()) grads.push_back(p.grad());
  return grads;
}

torch::Tensor MultiTensorAdamW::backward_and_apply(const torch::Tensor& loss, double max_norm,
                                                   ops::DynamicLossScaler* scaler) {
  // () float32 on the loss's device, 1 when the loss is inf or NaN. Computed on the device: no synchronisation.
  const auto bad_loss = torch::isfinite(loss.detach()).logical_not().to(torch::kFloat32);
  if (!scaler) {
    loss.backward();
    // A non-finite gradient makes the global norm non-finite; the step is then skipped like an fp16 overflow.
    auto nonfinite = bad_loss;
    torch::Tensor total;  // () the global gradient norm, reused by the clipping
    const auto grads = gradients();
    if (!grads.empty()) {
      torch::NoGradGuard no_grad;
      total = at::stack(at::_foreach_norm(grads, 2)).norm();
      nonfinite = torch::maximum(nonfinite, torch::isfinite(total).logical_not().to(torch::kFloat32));
    }
    apply_clipped(max_norm, nonfinite, total);
    return nonfinite;
  }
  scaler->scale(loss).backward();
  scaler->unscale(gradients());  // an inf / NaN loss gives inf / NaN gradients: found_inf covers it
  apply(max_norm, scaler->found_inf());
  scaler->update();
  return bad_loss;
}

void MultiTensorAdamW::set_lr(double lr) {
  host_lr_ = lr;
  if (fused_) lr_.fill_(lr);
}

void MultiTensorAdamW::apply(double max_norm, const torch::Tensor& found_inf) {
  apply_clipped(max_norm, found_inf, {});
}

void MultiTensorAdamW::apply_clipped(double max_norm, const torch::Tensor& found_inf, torch::Tensor total) {
  torch::NoGradGuard no_grad;
  // The host paths read the flag here; the fused path hands it to the kernel.
  if (found_inf.defined() && !fused_ && found_inf.item<double>() != 0) return;
  if (max_norm > 0) {
    const auto grads = gradients();
    if (!grads.empty()) {
      if (!total.defined()) total = at::stack(at::_foreach_norm(grads, 2)).norm();
      const auto coef = (max_norm / (total + 1e-6)).clamp_max(1.0);
#ifdef FTMAMBA_FUSED_ADAMW
      at::_foreach_mul_(grads, coef);  // stays on the device: no host synchronisation
#else
      at::_foreach_mul_(grads, coef.item<double>());
#endif
    }
  }
  for (auto& g : groups_) {
    std::vector<torch::Tensor> params, grads, exp_avg, exp_avg_sq, steps;
    std::vector<size_t> index;
    for (size_t i = 0; i < g.params.size(); ++i) {
      if (!g.params[i].grad().defined()) continue;
      params.push_back(g.params[i]);
      grads.push_back(g.params[i].grad());
      exp_avg.push_back(g.exp_avg[i]);
      exp_avg_sq.push_back(g.exp_avg_sq[i]);
      if (fused_) steps.push_back(g.steps[i]);
      index.push_back(i);
    }
    if (params.empty()) continue;
#ifdef FTMAMBA_FUSED_ADAMW
    if (fused_) {
      if (found_inf.defined()) {
        // A skipped step must not advance the counts either (they set the bias corrections).
        // One multi-tensor kernel (a per-tensor add_ costs a launch per parameter, ~2% of a training step).
        const auto clean = 1.0 - found_inf;
        at::_foreach_add_(steps, std::vector<torch::Tensor>(steps.size(), clean));
      } else {
        at::_foreach_add_(steps, 1);
      }
      at::_fused_adamw_(params, grads, exp_avg, exp_avg_sq, /*max_exp_avg_sqs=*/{}, steps, lr_, beta1_, beta2_,
                        g.weight_decay, eps_, /*amsgrad=*/false, /*maximize=*/false, /*grad_scale=*/std::nullopt,
                        found_inf.defined() ? std::optional<torch::Tensor>(found_inf) : std::nullopt);
      continue;
    }
#endif
    // Elsewhere (the CPU, or LibTorch < 2.1): foreach kernels with host scalars, in the parameters' precision.
    const double lr = host_lr_;
    std::vector<c10::Scalar> inv_sqrt_bc2, neg_step_size;
    for (size_t i : index) {
      const int64_t step = ++g.host_steps[i];
      const double bc1 = 1.0 - std::pow(beta1_, static_cast<double>(step));
      const double bc2 = 1.0 - std::pow(beta2_, static_cast<double>(step));
      inv_sqrt_bc2.emplace_back(1.0 / std::sqrt(bc2));
      neg_step_size.emplace_back(-lr / bc1);
    }
    // The update of torch::optim::AdamW, term by term.
    if (g.weight_decay != 0) at::_foreach_mul_(params, 1.0 - lr * g.weight_decay);
    at::_foreach_mul_(exp_avg, beta1_);
    at::_foreach_add_(exp_avg, grads, 1.0 - beta1_);
    at::_foreach_mul_(exp_avg_sq, beta2_);
    at::_foreach_addcmul_(exp_avg_sq, grads, grads, 1.0 - beta2_);
    auto denom = at::_foreach_sqrt(exp_avg_sq);  // sqrt(v) / sqrt(1 - beta2^t) + eps
    at::_foreach_mul_(denom, inv_sqrt_bc2);
    at::_foreach_add_(denom, eps_);
    at::_foreach_addcdiv_(params, exp_avg, denom, neg_step_size);
  }
}

}  // namespace ftmamba::train
