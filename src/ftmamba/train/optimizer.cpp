#include "ftmamba/train/optimizer.h"

#include <cmath>

namespace ftmamba::train {

bool is_no_decay_parameter(const std::string& name) {
  return name.ends_with("bias") || name.ends_with(".A_log") || name.ends_with(".D") ||
         name.find("norm") != std::string::npos || name.find("tokenizer.") != std::string::npos ||
         name.find("embedding") != std::string::npos;
}

std::unique_ptr<torch::optim::AdamW> make_optimizer(torch::nn::Module& model, double lr, double weight_decay) {
  std::vector<torch::Tensor> decay, no_decay;
  for (const auto& p : model.named_parameters()) {
    if (!p.value().requires_grad()) continue;
    (is_no_decay_parameter(p.key()) ? no_decay : decay).push_back(p.value());
  }
  auto opts = torch::optim::AdamWOptions(lr).weight_decay(weight_decay);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(opts));
  groups.emplace_back(no_decay,
                      std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(lr).weight_decay(0.0)));
  return std::make_unique<torch::optim::AdamW>(std::move(groups), opts);
}

LrSchedule::LrSchedule(double peak_lr, int64_t total_steps, double warmup_frac, double min_lr_ratio)
    : peak_(peak_lr),
      min_ratio_(min_lr_ratio),
      total_(std::max<int64_t>(total_steps, 1)),
      warmup_(static_cast<int64_t>(std::llround(warmup_frac * total_steps))) {}

double LrSchedule::at(int64_t step) const {
  if (step < warmup_) return peak_ * (step + 1) / static_cast<double>(warmup_);
  const double progress = std::min(1.0, static_cast<double>(step - warmup_) / std::max<int64_t>(total_ - warmup_, 1));
  const double cosine = 0.5 * (1.0 + std::cos(M_PI * progress));
  return peak_ * (min_ratio_ + (1.0 - min_ratio_) * cosine);
}

void LrSchedule::apply(torch::optim::Optimizer& opt, int64_t step) const {
  const double lr = at(step);
  for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
}

}  // namespace ftmamba::train
