#include "ftmamba/nn/ft_transformer.h"

namespace ftmamba::nn {

int64_t transformer_ffn_width(const EncoderConfig& cfg) {
  if (cfg.d_ffn > 0) return cfg.d_ffn;
  return cfg.type == EncoderType::kFtTransformerStock ? 2048 : cfg.d_token * 4 / 3;
}

FTTransformerEncoder::FTTransformerEncoder(const EncoderConfig& cfg, const FeatureShape& shape)
    : cfg_(cfg), stock_(cfg.type == EncoderType::kFtTransformerStock) {
  tokenizer = register_module("tokenizer", FeatureTokenizer(shape, cfg.d_token));
  blocks = register_module(stock_ ? "layers" : "blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < cfg.n_layers; ++i) {
    TransformerBlockOptions o;
    o.d_model = cfg.d_token;
    o.n_heads = cfg.n_heads;
    o.d_hidden = transformer_ffn_width(cfg);
    o.prenorm = !stock_;
    o.attention_norm = i > 0;
    o.attention_dropout = cfg.attention_dropout;
    o.ffn_dropout = cfg.ffn_dropout;
    o.residual_dropout = cfg.residual_dropout;
    blocks->push_back(TransformerBlock(o));
  }
  // Pre-norm blocks leave the residual stream unnormalised, so rtdl's head normalises it first.
  if (!stock_)
    head_norm = register_module("head_normalization", torch::nn::LayerNorm(torch::nn::LayerNormOptions({cfg.d_token})));
  if (cfg.embed_dim > 0) head = register_module("head", Projection(cfg.d_token, cfg.embed_dim, true));
}

torch::Tensor FTTransformerEncoder::forward(const torch::Tensor& numerical, const torch::Tensor& missing,
                                            const torch::Tensor& categorical) {
  auto x = tokenizer(numerical, missing, categorical);  // (batch, L, d)
  const int64_t n = static_cast<int64_t>(blocks->size());
  for (int64_t i = 0; i < n; ++i) {
    // rtdl updates only [CLS] in its last block; the stock layer, like torch's, updates every token.
    x = blocks[i]->as<TransformerBlock>()->forward(x, /*cls_only=*/!stock_ && i == n - 1);
  }
  auto cls = x.select(1, x.size(1) - 1);  // (batch, d)
  if (head_norm) {
    cls = head_norm(cls);
    if (head) cls = torch::relu(cls);  // rtdl's head: LayerNorm, ReLU, Linear
  }
  if (head) cls = head(cls);  // (batch, embed_dim)
  if (cfg_.l2_normalize)
    cls = torch::nn::functional::normalize(cls, torch::nn::functional::NormalizeFuncOptions().dim(-1));
  return cls;
}

}  // namespace ftmamba::nn
