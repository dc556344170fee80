// defines: selective_scan (Mamba's fused selective scan as a torch::autograd::Function, dispatching to
// the CPU kernel), selective_scan_ref (the same math in plain LibTorch ops, for tests), and the raw CPU forward /
// backward calls behind the Function (cpu_scan), which fused nodes (mamba_mix) call inside their own.
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

// The scan's tensors as its kernels take them, on the CPU and on a GPU: shapes as above; u, delta, B, C and z in
// one activation dtype with a unit last stride; A, D and delta_bias contiguous in the parameters' dtype (float32,
// or float64 with float64 activations on the CPU). D, z and delta_bias may be undefined.
// On the CPU only, dt_proj may run inside the scan: with dt_low (batch, L, rank), an activation with a unit last
// stride, and dt_proj (d_inner, rank) in the parameters' dtype, delta is left undefined and made per token as
// dt_low dt_proj^T, never written out.
struct ScanInputs {
  torch::Tensor u, delta, A, B, C, D, z, delta_bias;
  bool delta_softplus = true;
  torch::Tensor dt_low = {}, dt_proj = {};
};

// Every input's gradient: activations' in their dtype (dB and dC in B's), the parameters' in theirs. With dt_low,
// d_dt_low (in the parameters' dtype) and d_dt_proj instead of ddelta.
struct ScanGradients {
  torch::Tensor du, ddelta, dA, dB, dC, dD, dz, ddelta_bias, d_dt_low, d_dt_proj;
};

// ScanInputs from the eight tensors a scan's autograd Function takes or saves, u, delta, A, B, C, D, z, delta_bias, the
// optional ones as placeholders that `present` (function_args::kScanHas*) marks real.
ScanInputs scan_inputs_from(const std::vector<torch::Tensor>& t, bool delta_softplus, int64_t present);

namespace cpu_scan {

// out: (batch, L, d_inner) contiguous in u's dtype. Activations float64, float32 or bfloat16.
void forward_into(const ScanInputs& in, const torch::Tensor& out);
// dout: (batch, L, d_inner). dz_into: where dz goes, a (batch, L, d_inner) view with a unit last stride (a half
// of in_proj's gradient), or undefined for a new tensor; g.dz is that view.
ScanGradients backward(const ScanInputs& in, const torch::Tensor& dout, const torch::Tensor& dz_into = {});

}  // namespace cpu_scan
}  // namespace ftmamba::ops
