#include "ftmamba/nn/feed_forward.h"

namespace ftmamba::nn {

torch::Tensor reglu(const torch::Tensor& x) {
  auto halves = x.chunk(2, -1);
  return halves[0] * torch::relu(halves[1]);
}

FeedForwardImpl::FeedForwardImpl(int64_t d_model, int64_t d_hidden, Activation activation, double dropout)
    : activation_(activation), dropout_(dropout) {
  const int64_t width = activation == Activation::ReGLU ? 2 * d_hidden : d_hidden;
  // rtdl calls these linear_first / linear_second; torch's TransformerEncoderLayer linear1 / linear2.
  const bool rtdl = activation == Activation::ReGLU;
  first = register_module(rtdl ? "linear_first" : "linear1", Projection(d_model, width, true));
  second = register_module(rtdl ? "linear_second" : "linear2", Projection(d_hidden, d_model, true));
}

torch::Tensor FeedForwardImpl::forward(const torch::Tensor& x) {
  auto h = first(x);
  h = activation_ == Activation::ReGLU ? reglu(h) : torch::relu(h);
  if (dropout_ > 0.0 && is_training()) h = torch::dropout(h, dropout_, true);
  return second(h);
}

}  // namespace ftmamba::nn
