// defines: selective_scan_last_state, the state a selective scan ends in, h_L, from which a recurrent decoder goes
// on one token at a time (a language model's prefill): in plain LibTorch ops on any device, from the closed form
//   h_L[d, n] = sum_t exp(A[d, n] S_t[d]) dt_t[d] B_t[n] u_t[d],   S_t = dt_{t+1} + ... + dt_L,
// so the fused scans need no second output. Its cost is the scan's (batch L d_inner d_state products), in time
// chunks that bound the memory.
#pragma once
#include <torch/torch.h>

namespace ftmamba::ops {

// u, delta (batch, L, d_inner); A (d_inner, d_state), negative; B (batch, L, d_state); delta_bias (d_inner) or
// undefined; dt = softplus(delta + delta_bias) when delta_softplus, as selective_scan. Returns h_L
// (batch, d_inner, d_state) in float32 (float64 for float64 inputs), starting from h_0 = 0.
torch::Tensor selective_scan_last_state(const torch::Tensor& u, const torch::Tensor& delta, const torch::Tensor& A,
                                        const torch::Tensor& B, const torch::Tensor& delta_bias,
                                        bool delta_softplus = true);

}  // namespace ftmamba::ops
