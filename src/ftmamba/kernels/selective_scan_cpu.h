// defines: SelectiveScanParams / SelectiveScanGrads and the fused CPU selective-scan kernels (forward, and a
// backward that recomputes the states), over raw pointers. No ATen here. Each call runs
// the instruction-set path that cpu_isa() names (cpu_isa.h).
#pragma once
#include <cstdint>

#include "ftmamba/kernels/bf16.h"

namespace ftmamba::kernels {

// Token-major layout. Strides are in elements; every last dimension has stride 1.
//   u, delta, z : (batch, seqlen, dim)      batch / seqlen strides arbitrary
//   A           : (dim, dstate)             contiguous
//   B, C        : (batch, seqlen, dstate)   batch / seqlen strides arbitrary
//   D, delta_bias : (dim) contiguous, or null
//   out         : (batch, seqlen, dim)      contiguous (forward only)
//   dt_low      : (batch, seqlen, rank)     or null; when given, delta is not read but made per token from it,
//                                           delta[b, t, c] = sum_r dt_low[b, t, r] dt_proj_t[r dt_proj_t_stride + c]
//                                           (dt_proj inside the scan: no (batch, seqlen, dim) delta is written)
//   dt_proj_t   : (rank, dim)               rows dt_proj_t_stride apart; with dt_low
// T is the type of the parameters (A, D, delta_bias), the state and all arithmetic; Act, that of the
// activations (u, delta, B, C, z, out): T itself, or Bf16 with T = float (mixed precision, where the kernel
// widens each work item's rows into float scratch and rounds its outputs back).
template <typename T, typename Act = T>
struct SelectiveScanParams {
  int64_t batch = 0, seqlen = 0, dim = 0, dstate = 0;
  const Act* u = nullptr;
  int64_t u_batch_stride = 0, u_l_stride = 0;
  const Act* delta = nullptr;
  int64_t delta_batch_stride = 0, delta_l_stride = 0;
  const T* A = nullptr;
  const Act* B = nullptr;
  int64_t B_batch_stride = 0, B_l_stride = 0;
  const Act* C = nullptr;
  int64_t C_batch_stride = 0, C_l_stride = 0;
  const T* D = nullptr;
  const Act* z = nullptr;
  int64_t z_batch_stride = 0, z_l_stride = 0;
  const T* delta_bias = nullptr;
  const Act* dt_low = nullptr;
  int64_t dt_low_batch_stride = 0, dt_low_l_stride = 0;
  const T* dt_proj_t = nullptr;
  int64_t dt_rank = 0, dt_proj_t_stride = 0;
  bool delta_softplus = true;
  int num_threads = 1;  // the caller passes LibTorch's intra-op thread count
  Act* out = nullptr;
};

// Gradients, fully overwritten by the backward kernel; contiguous but for dz.
//   dout, du, ddelta : (batch, seqlen, dim)
//   dz : (batch, seqlen, dim), only when z is given, with a unit last stride and the strides given (a slice of a
//        wider row is fine: the Mamba mixer writes dz into its half of in_proj's gradient)
//   dA : (dim, dstate)   dB, dC : (batch, seqlen, dstate)
//   dD, ddelta_bias : (dim), only when D / delta_bias are given (null otherwise)
//   ddelta may be null with dt_low, whose gradients then come instead:
//   d_dt_low : (batch, seqlen, rank) contiguous   d_dt_proj_t : (rank, dim) contiguous
// dout, du, ddelta and dz are activations (Act); dA, dB, dC, dD and ddelta_bias stay in T, as sums over many
// channels or tokens.
template <typename T, typename Act = T>
struct SelectiveScanGrads {
  const Act* dout = nullptr;
  Act* du = nullptr;
  Act* ddelta = nullptr;
  T* dA = nullptr;
  T* dB = nullptr;
  T* dC = nullptr;
  T* dD = nullptr;
  Act* dz = nullptr;
  int64_t dz_batch_stride = 0, dz_l_stride = 0;
  T* ddelta_bias = nullptr;
  T* d_dt_low = nullptr;
  T* d_dt_proj_t = nullptr;
};

// y = (<C_t, h_t> + D u_t) * silu(z_t), h_t = exp(dt_t A) h_{t-1} + dt_t B_t u_t, dt_t = softplus(delta_t + bias).
void selective_scan_fwd_cpu(const SelectiveScanParams<float>& p);
void selective_scan_fwd_cpu(const SelectiveScanParams<double>& p);
void selective_scan_fwd_cpu(const SelectiveScanParams<float, Bf16>& p);

// Gradients of sum(dout * y) for every input. Deterministic for a fixed num_threads.
void selective_scan_bwd_cpu(const SelectiveScanParams<float>& p, const SelectiveScanGrads<float>& g);
void selective_scan_bwd_cpu(const SelectiveScanParams<double>& p, const SelectiveScanGrads<double>& g);
void selective_scan_bwd_cpu(const SelectiveScanParams<float, Bf16>& p, const SelectiveScanGrads<float, Bf16>& g);

}  // namespace ftmamba::kernels
