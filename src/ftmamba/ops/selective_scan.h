// defines: selective_scan (Mamba's fused selective scan as a torch::autograd::Function, dispatching to
// the CPU kernel) and selective_scan_ref (the same math in plain LibTorch ops, for tests).
#pragma once
#include <torch/torch.h>

namespace ftmamba::ops {

// Token-major layout, matching what in_proj / x_proj produce without transposes.
//   u, delta, z : (batch, L, d_inner)       any strides with a unit last-dim stride
//   A           : (d_inner, d_state)        A = -exp(A_log), passed already negated
//   B, C        : (batch, L, d_state)       unit last-dim stride (slices of x_proj's output are fine)
//   D           : (d_inner) or undefined    skip connection
//   delta_bias  : (d_inner) or undefined    added to delta before softplus
//   z           : undefined for no gate
// Computes, per (b, d):   dt_t = softplus(delta_t + delta_bias) (or delta_t + bias if !delta_softplus)
//                         h_t  = exp(dt_t * A) * h_{t-1} + dt_t * B_t * u_t      (h_0 = 0, h in R^N)
//                         y_t  = (<C_t, h_t> + D * u_t) * silu(z_t)
// Returns y: (batch, L, d_inner), contiguous, dtype of u. float32 and float64 are supported.
// Gradients flow to u, delta, A, B, C, D, z and delta_bias.
torch::Tensor selective_scan(const torch::Tensor& u, const torch::Tensor& delta, const torch::Tensor& A,
                             const torch::Tensor& B, const torch::Tensor& C, const torch::Tensor& D,
                             const torch::Tensor& z, const torch::Tensor& delta_bias, bool delta_softplus = true);

torch::Tensor selective_scan_ref(const torch::Tensor& u, const torch::Tensor& delta, const torch::Tensor& A,
                                 const torch::Tensor& B, const torch::Tensor& C, const torch::Tensor& D,
                                 const torch::Tensor& z, const torch::Tensor& delta_bias, bool delta_softplus = true);

}  // namespace ftmamba::ops
