// defines: MultiTensorAdamW, the optimizer step used on a GPU: gradient clipping and AdamW over every
// parameter of a group at once, with the same math, hyper-parameters and decay / no-decay groups as
// make_optimizer. LibTorch's C++ AdamW launches about ten kernels per parameter, which on a GPU costs more
// host time than the model itself.
//
// On a GPU with LibTorch >= 2.1 the step is one fused multi-tensor AdamW kernel per group, reading the learning
// rate and the step counts from device tensors, and the clipping never reads a value back to the host.
// apply() then launches the same kernels with the same arguments every step, so it can be captured in a CUDA
// graph: set_lr() (outside the graph) is the only thing that changes between steps. Elsewhere (the CPU, older
// LibTorch) it falls back to foreach kernels with host-side scalars.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ftmamba/ops/precision.h"

namespace ftmamba::train {

class MultiTensorAdamW {
 public:
  MultiTensorAdamW(torch::nn::Module& model, double weight_decay, double beta1 = 0.9, double beta2 = 0.999,
                   double eps = 1e-8);
  // apply() on a GPU can be captured in a CUDA graph (LibTorch >= 2.1: the fused, device-lr path).
  static bool capturable();
  void zero_grad();  // gradients back to undefined, as torch::optim's zero_grad
  // The learning rate of the next apply(). Writes a device tensor: call it outside a captured graph.
  void set_lr(double lr);
  // Scales the gradients so that their global L2 norm is at most max_norm (none when max_norm <= 0), as
  // torch::nn::utils::clip_grad_norm_, then takes one AdamW step. Parameters without a gradient are left
  // alone and their step count does not advance. found_inf (optional, () float32, from DynamicLossScaler):
  // when it holds 1 the step is skipped: no parameter, moment or step count changes. On a GPU this is decided
  // on the device, so the step stays capturable.
  void apply(double max_norm, const torch::Tensor& found_inf = {});
  // loss.backward(), then apply(max_norm), skipped (nothing changes) when the loss or a gradient is inf or NaN.
  // With a scaler (fp16): the backward runs through the scaled loss, the gradients are unscaled (flagging inf /
  // NaN), the step is skipped when flagged and the scale adapted. All of it is decided on the device, so this
  // stays capturable. Returns a () float32 device flag: 1 when the step was skipped for a non-finite loss or
  // (without a scaler) gradient. An fp16 overflow that the scaler handles is not flagged: it is routine.
  torch::Tensor backward_and_apply(const torch::Tensor& loss, double max_norm,
                                   ops::DynamicLossScaler* scaler = nullptr);
  // The moments and step counts, named "G.I.exp_avg" etc. (group G, parameter I), as live tensors: what a
  // checkpoint saves. load_state copies into them (so that a captured CUDA graph keeps its addresses).
  std::vector<std::pair<std::string, torch::Tensor>> state() const;
  void load_state(const std::map<std::string, torch::Tensor>& state, const std::string& prefix);
  void step(double lr, double max_norm) {
    set_lr(lr);
    apply(max_norm);
  }

 private:
  struct Group {
    std::vector<torch::Tensor> params, exp_avg, exp_avg_sq;
    std::vector<torch::Tensor> steps;  // fused only: () float32 on the device, as the fused kernel reads them
    std::vector<int64_t> host_steps;   // the counts of the foreach fallback
    double weight_decay;
  };
  std::vector<torch::Tensor> gradients() const;  // the defined gradients, group by group
  // apply() with the global gradient norm when the caller has it (else undefined: computed when clipping).
  void apply_clipped(double max_norm, const torch::Tensor& found_inf, torch::Tensor total);
  std::vector<Group> groups_;
  bool fused_ = false;  // the parameters live on a GPU and this LibTorch has the fused, device-lr AdamW
  torch::Tensor lr_;    // fused only: () float32 on the parameters' device, read by the fused kernel
  double host_lr_ = 0;  // the same, for the foreach fallback
  double beta1_, beta2_, eps_;
};

}  // namespace ftmamba::train
