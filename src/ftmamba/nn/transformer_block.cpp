#include "ftmamba/nn/transformer_block.h"

namespace ftmamba::nn {

TransformerBlockImpl::TransformerBlockImpl(const TransformerBlockOptions& o) : o_(o) {
  // Names follow rtdl for the pre-norm layout and torch.nn.TransformerEncoderLayer for the post-norm one.
  attention = register_module(o.prenorm ? "attention" : "self_attn",
                              MultiHeadAttention(o.d_model, o.n_heads, o.attention_dropout));
  ffn = register_module(
      "ffn",
      FeedForward(o.d_model, o.d_hidden,
                  o.prenorm ? FeedForwardImpl::Activation::ReGLU : FeedForwardImpl::Activation::ReLU, o.ffn_dropout));
  const auto ln = torch::nn::LayerNormOptions({o.d_model});
  if (!o.prenorm || o.attention_norm)
    attention_norm = register_module(o.prenorm ? "attention_normalization" : "norm1", torch::nn::LayerNorm(ln));
  ffn_norm = register_module(o.prenorm ? "ffn_normalization" : "norm2", torch::nn::LayerNorm(ln));
}

torch::Tensor TransformerBlockImpl::residual_dropout(const torch::Tensor& t) {
  return o_.residual_dropout > 0.0 && is_training() ? torch::dropout(t, o_.residual_dropout, true) : t;
}

torch::Tensor TransformerBlockImpl::forward(const torch::Tensor& x, bool cls_only) {
  const int64_t last = x.size(1) - 1;
  auto pick = [&](const torch::Tensor& t) { return cls_only ? t.narrow(1, last, 1) : t; };  // (batch, 1|L, d)
  if (o_.prenorm) {
    auto kv = attention_norm ? attention_norm(x) : x;
    auto h = pick(x) + residual_dropout(attention(pick(kv), kv));
    return h + residual_dropout(ffn(ffn_norm(h)));
  }
  auto h = attention_norm(pick(x) + residual_dropout(attention(pick(x), x)));
  return ffn_norm(h + residual_dropout(ffn(h)));
}

}  // namespace ftmamba::nn
