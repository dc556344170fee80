// defines: FeedForward, the position-wise MLP of a Transformer block: ReGLU (rtdl: linear_first to
// 2 * d_hidden, a * relu(b), linear_second) or ReLU (torch.nn.TransformerEncoderLayer's linear1/linear2).
#pragma once
#include <torch/torch.h>

#include <string>

#include "ftmamba/nn/projection.h"

namespace ftmamba::nn {

// reglu(x) = a * relu(b) where (a, b) are the two halves of x's last dimension.
torch::Tensor reglu(const torch::Tensor& x);  // (..., 2h) -> (..., h)

class FeedForwardImpl : public torch::nn::Module {
 public:
  enum class Activation { ReGLU, ReLU };
  FeedForwardImpl(int64_t d_model, int64_t d_hidden, Activation activation, double dropout);
  torch::Tensor forward(const torch::Tensor& x);  // (..., d) -> (..., d)
  Activation activation() const { return activation_; }

  Projection first{nullptr};   // d -> 2 * d_hidden (ReGLU) or d_hidden (ReLU)
  Projection second{nullptr};  // d_hidden -> d

 private:
  Activation activation_;
  double dropout_;
};
TORCH_MODULE(FeedForward);

}  // namespace ftmamba::nn
