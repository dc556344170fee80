// defines: recompute_in_backward, gradient checkpointing for one block: the forward runs without keeping its
// activations, and the backward runs it again (same autocast setting, same random numbers for dropout) to take its
// gradients. Memory for activations falls from one set per block to one block's, at the cost of a second forward.
#pragma once
#include <torch/torch.h>

#include <functional>

namespace ftmamba::nn {

// y = f(x), where f is a block of modules whose parameters receive their gradients in the backward. x: any shape.
// Without grad mode (inference), just f(x).
torch::Tensor recompute_in_backward(const std::function<torch::Tensor(const torch::Tensor&)>& f,
                                    const torch::Tensor& x);

}  // namespace ftmamba::nn
