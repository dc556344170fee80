// defines: make_optimizer (AdamW with a decayed group and a no-decay group: biases, norms, embeddings,
// the tokenizer, A_log and D) and LrSchedule (linear warmup, then cosine decay to a floor).
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>

namespace ftmamba::train {

// True for parameters that get no weight decay, by their mamba_ssm / rtdl-style name.
bool is_no_decay_parameter(const std::string& name);

std::unique_ptr<torch::optim::AdamW> make_optimizer(torch::nn::Module& model, double lr, double weight_decay);

class LrSchedule {
 public:
  LrSchedule(double peak_lr, int64_t total_steps, double warmup_frac, double min_lr_ratio);
  double at(int64_t step) const;  // step in [0, total_steps)
  void apply(torch::optim::Optimizer& opt, int64_t step) const;

 private:
  double peak_, min_ratio_;
  int64_t total_, warmup_;
};

}  // namespace ftmamba::train
