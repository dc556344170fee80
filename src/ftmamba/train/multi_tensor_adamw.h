// defines: MultiTensorAdamW, the optimizer step used on a GPU: gradient clipping and AdamW over every
// parameter of a group at once, with multi-tensor (foreach) kernels, with the same math, hyper-parameters and
// decay / no-decay groups as make_optimizer. LibTorch's C++ AdamW launches about ten kernels per parameter,
// which on a GPU costs more host time than the model itself; this takes about ten per group.
#pragma once
#include <torch/torch.h>

#include <vector>

namespace ftmamba::train {

class MultiTensorAdamW {
 public:
  MultiTensorAdamW(torch::nn::Module& model, double weight_decay, double beta1 = 0.9, double beta2 = 0.999,
                   double eps = 1e-8);
  void zero_grad();  // gradients back to undefined, as torch::optim's zero_grad
  // Scales the gradients so that their global L2 norm is at most max_norm (none when max_norm <= 0), as
  // torch::nn::utils::clip_grad_norm_, then takes one AdamW step at learning rate lr. Parameters without a
  // gradient are left alone and their step count does not advance.
  void step(double lr, double max_norm);

 private:
  struct Group {
    std::vector<torch::Tensor> params, exp_avg, exp_avg_sq;
    std::vector<int64_t> steps;
    double weight_decay;
  };
  std::vector<Group> groups_;
  double beta1_, beta2_, eps_;
};

}  // namespace ftmamba::train
