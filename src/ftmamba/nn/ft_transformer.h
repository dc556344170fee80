// defines: FTTransformerEncoder, the FT-Transformer baseline tower: FeatureTokenizer -> n TransformerBlocks
// -> [CLS] (last token) -> head. Two variants, chosen by EncoderConfig::type:
//   "ft-transformer"        rtdl: pre-LayerNorm, ReGLU FFN of hidden d*4/3, head = LayerNorm, ReLU, Linear
//   "ft-transformer-stock"  torch.nn.TransformerEncoderLayer: post-norm, ReLU FFN of width 2048, head = Linear
// Names: tokenizer.*, blocks.{i}.* (rtdl) or layers.{i}.* (stock), head_normalization.*, head.*.
#pragma once
#include "ftmamba/nn/encoder.h"
#include "ftmamba/nn/tokenizer.h"
#include "ftmamba/nn/transformer_block.h"

namespace ftmamba::nn {

class FTTransformerEncoder : public TowerEncoder {
 public:
  FTTransformerEncoder(const EncoderConfig& cfg, const FeatureShape& shape);
  torch::Tensor forward(const torch::Tensor& numerical, const torch::Tensor& missing,
                        const torch::Tensor& categorical) override;
  int64_t embedding_dim() const override { return cfg_.embed_dim > 0 ? cfg_.embed_dim : cfg_.d_token; }
  bool stock() const { return stock_; }

  FeatureTokenizer tokenizer{nullptr};
  torch::nn::ModuleList blocks;
  torch::nn::LayerNorm head_norm{nullptr};  // rtdl only
  Projection head{nullptr};                 // null when embed_dim == 0

 private:
  EncoderConfig cfg_;
  bool stock_;
};

// The FFN hidden width a config implies: model.d_ffn when set, else d*4/3 (rtdl) or 2048 (stock).
int64_t transformer_ffn_width(const EncoderConfig& cfg);

}  // namespace ftmamba::nn
