// defines: Projection, the one linear layer every mixer uses (Mamba's in/x/dt/out_proj, attention's
// q/k/v/o, FFN layers). Parameters are "weight" (out, in) and optional "bias", as torch.nn.Linear names
// them, so checkpoints match mamba_ssm / rtdl; fine-tuning adapters attach here.
#pragma once
#include <torch/torch.h>

namespace ftmamba::nn {

class ProjectionImpl : public torch::nn::Module {
 public:
  ProjectionImpl(int64_t in_features, int64_t out_features, bool bias);
  torch::Tensor forward(const torch::Tensor& x);  // (..., in) -> (..., out)
  // x W^T only; for callers that fuse the bias into a later kernel (dt_proj into the scan).
  torch::Tensor forward_without_bias(const torch::Tensor& x);
  // Output features [begin, begin + count) only: (..., in) -> (..., count). For callers that need part of
  // a fused projection at fewer positions (Mamba's gate at the last token only).
  torch::Tensor forward_outputs(const torch::Tensor& x, int64_t begin, int64_t count);
  int64_t in_features() const { return weight.size(1); }
  int64_t out_features() const { return weight.size(0); }

  torch::Tensor weight;  // (out, in)
  torch::Tensor bias;    // (out) or undefined
};
TORCH_MODULE(Projection);

}  // namespace ftmamba::nn
