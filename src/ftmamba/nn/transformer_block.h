// defines: TransformerBlock, one FT-Transformer layer in either layout:
//   pre-norm (rtdl):  x = x + drop(attn(LN(x)));  x = x + drop(ReGLU-FFN(LN(x)))   (block 0: no attention LN)
//   post-norm (torch.nn.TransformerEncoderLayer): x = LN1(x + drop(attn(x)));  x = LN2(x + drop(ReLU-FFN(x)))
#pragma once
#include <torch/torch.h>

#include "ftmamba/nn/attention.h"
#include "ftmamba/nn/feed_forward.h"

namespace ftmamba::nn {

struct TransformerBlockOptions {
  int64_t d_model = 64;
  int64_t n_heads = 8;
  int64_t d_hidden = 85;       // FFN hidden width (ReGLU: after halving)
  bool prenorm = true;         // true: rtdl layout with ReGLU; false: post-norm with ReLU
  bool attention_norm = true;  // pre-norm only: rtdl's first block skips it (the tokens are fresh)
  double attention_dropout = 0.2, ffn_dropout = 0.1, residual_dropout = 0.0;
};

class TransformerBlockImpl : public torch::nn::Module {
 public:
  explicit TransformerBlockImpl(const TransformerBlockOptions& o);
  // x: (batch, L, d). With cls_only, only the last token ([CLS]) is updated and returned as (batch, 1, d):
  // rtdl's last-layer shortcut, exact because nothing after the last block reads the other tokens.
  torch::Tensor forward(const torch::Tensor& x, bool cls_only = false);

  MultiHeadAttention attention{nullptr};
  FeedForward ffn{nullptr};
  torch::nn::LayerNorm attention_norm{nullptr};  // pre-norm: before attention (absent in block 0); post: after
  torch::nn::LayerNorm ffn_norm{nullptr};

 private:
  torch::Tensor residual_dropout(const torch::Tensor& t);
  TransformerBlockOptions o_;
};
TORCH_MODULE(TransformerBlock);

}  // namespace ftmamba::nn
