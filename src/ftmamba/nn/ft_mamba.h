// defines: FTMambaEncoder: FeatureTokenizer -> n x (x + Mamba(RMSNorm(x))) -> RMSNorm -> [CLS] (last
// token) -> optional Linear head -> optional L2 normalisation. Names: tokenizer.*, layers.{i}.mixer.*,
// layers.{i}.norm.weight, norm_f.weight, head.*.
#pragma once
#include "ftmamba/nn/encoder.h"
#include "ftmamba/nn/mamba.h"
#include "ftmamba/nn/rms_norm.h"
#include "ftmamba/nn/tokenizer.h"

namespace ftmamba::nn {

// One residual layer: x + mixer(norm(x)).
class MambaResidualLayerImpl : public torch::nn::Module {
 public:
  explicit MambaResidualLayerImpl(const MambaConfig& cfg);
  torch::Tensor forward(const torch::Tensor& x);  // (batch, L, d) -> (batch, L, d)
  // The last position only, (batch, L, d) -> (batch, d): what the tower's last layer needs.
  torch::Tensor forward_last(const torch::Tensor& x);
  Mamba mixer{nullptr};
  RMSNorm norm{nullptr};
};
TORCH_MODULE(MambaResidualLayer);

class FTMambaEncoder : public TowerEncoder {
 public:
  FTMambaEncoder(const EncoderConfig& cfg, const FeatureShape& shape);
  torch::Tensor forward(const torch::Tensor& numerical, const torch::Tensor& missing,
                        const torch::Tensor& categorical) override;
  // Everything after the tokenizer: tokens (batch, L, d_token) -> embeddings (batch, embed).
  torch::Tensor forward_tokens(const torch::Tensor& tokens);
  int64_t embedding_dim() const override { return cfg_.embed_dim > 0 ? cfg_.embed_dim : cfg_.d_token; }

  FeatureTokenizer tokenizer{nullptr};
  torch::nn::ModuleList layers;
  RMSNorm norm_f{nullptr};
  Projection head{nullptr};  // null when embed_dim == 0

 private:
  EncoderConfig cfg_;
};

}  // namespace ftmamba::nn
