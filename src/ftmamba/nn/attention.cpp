#include "ftmamba/nn/attention.h"

#include <cmath>

#include "ftmamba/core/error.h"

namespace ftmamba::nn {

MultiHeadAttentionImpl::MultiHeadAttentionImpl(int64_t d_model, int64_t n_heads, double dropout)
    : n_heads_(n_heads), dropout_(dropout) {
  if (n_heads < 1 || d_model % n_heads != 0)
    throw Error("attention: d_token (" + std::to_string(d_model) + ") must be a multiple of model.n_heads (" +
                std::to_string(n_heads) + ")");
  W_q = register_module("W_q", Projection(d_model, d_model, true));
  W_k = register_module("W_k", Projection(d_model, d_model, true));
  W_v = register_module("W_v", Projection(d_model, d_model, true));
  W_out = register_module("W_out", Projection(d_model, d_model, true));
  // rtdl zeroes the projection biases at init.
  torch::NoGradGuard no_grad;
  for (auto* p : {&W_q, &W_k, &W_v, &W_out}) (*p)->bias.zero_();
}

torch::Tensor scaled_dot_product_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                           double dropout, bool training) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  auto scores = torch::matmul(q * scale, k.transpose(-2, -1));  // (batch, heads, Lq, Lk)
  auto probs = torch::softmax(scores, -1);
  if (dropout > 0.0 && training) probs = torch::dropout(probs, dropout, true);
  return torch::matmul(probs, v);  // (batch, heads, Lq, d_head)
}

torch::Tensor MultiHeadAttentionImpl::forward(const torch::Tensor& queries, const torch::Tensor& keys_values) {
  const int64_t batch = queries.size(0), lq = queries.size(1), lk = keys_values.size(1), d = queries.size(2);
  const int64_t dh = d / n_heads_;
  // (batch, L, d) -> (batch, heads, L, d_head)
  auto heads = [&](const torch::Tensor& t, int64_t len) { return t.view({batch, len, n_heads_, dh}).transpose(1, 2); };
  auto q = heads(W_q(queries), lq);
  auto k = heads(W_k(keys_values), lk);
  auto v = heads(W_v(keys_values), lk);
  auto y = scaled_dot_product_attention(q, k, v, dropout_, is_training());  // (batch, heads, Lq, d_head)
  return W_out(y.transpose(1, 2).reshape({batch, lq, d}));                  // (batch, Lq, d)
}

}  // namespace ftmamba::nn
