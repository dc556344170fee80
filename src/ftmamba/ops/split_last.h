// defines: split_last, consecutive slices of a tensor's last dimension whose backward joins the slices'
// gradients with one cat. (The slices of narrow() each backward into a zero-filled tensor of the whole's size,
// which autograd then adds up: for in_proj's (batch, L, 2 d_inner) output, two fills and an add of that size.)
#pragma once
#include <torch/torch.h>

#include <vector>

namespace ftmamba::ops {

// t: (..., sum(widths)). Returns views t[..., o_i : o_i + widths[i]]; a slice with no gradient gets zeros.
std::vector<torch::Tensor> split_last(const torch::Tensor& t, const std::vector<int64_t>& widths);

}  // namespace ftmamba::ops
