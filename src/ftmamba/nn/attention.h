// defines: MultiHeadAttention, rtdl-style self-attention with separate W_q, W_k, W_v, W_out projections
// (torch.nn.Linear names, biases on), used by both FT-Transformer variants.
#pragma once
#include <torch/torch.h>

#include "ftmamba/nn/projection.h"

namespace ftmamba::nn {

class MultiHeadAttentionImpl : public torch::nn::Module {
 public:
  MultiHeadAttentionImpl(int64_t d_model, int64_t n_heads, double dropout);
  // queries: (batch, Lq, d), keys_values: (batch, Lk, d) -> (batch, Lq, d).
  // Lq < Lk lets the last rtdl block attend from the [CLS] token alone.
  torch::Tensor forward(const torch::Tensor& queries, const torch::Tensor& keys_values);
  int64_t n_heads() const { return n_heads_; }

  Projection W_q{nullptr}, W_k{nullptr}, W_v{nullptr}, W_out{nullptr};

 private:
  int64_t n_heads_;
  double dropout_;
};
TORCH_MODULE(MultiHeadAttention);

// softmax(q k^T / sqrt(d_head)) v for q: (batch, heads, Lq, d_head), k and v: (batch, heads, Lk, d_head).
// Dropout applies to the attention probabilities while training.
torch::Tensor scaled_dot_product_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                           double dropout, bool training);

}  // namespace ftmamba::nn
