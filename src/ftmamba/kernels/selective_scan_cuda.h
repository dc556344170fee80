// defines: SelectiveScanCudaParams / SelectiveScanCudaGrads and the fused CUDA selective-scan kernels over raw
// pointers (no ATen, no CUDA headers here, so plain C++ callers can include it).
#pragma once
#include <cstdint>

#include "ftmamba/kernels/cuda_common.h"

namespace ftmamba::kernels {

// The forward keeps the state in registers and writes it out only at chunk boundaries; the backward
// recomputes each chunk's states from there, walking the chunks in reverse.
constexpr int kScanChunk = 16;
// Chunk-start states the forward writes for the backward: one per chunk after the first.
FTMAMBA_HOST_DEVICE inline int64_t scan_saved_states(int64_t seqlen) {
  return seqlen > 0 ? (seqlen - 1) / kScanChunk : 0;
}
// Largest d_state the kernels take (up to 16 threads of 4 states per channel).
constexpr int64_t kScanMaxDstate = 64;

// Token-major layout, as the CPU kernel. Strides are in elements; every last dimension has stride 1.
//   u, delta, z : (batch, seqlen, dim) in `dtype`        batch / seqlen strides arbitrary
//   B, C        : (batch, seqlen, dstate) in `dtype`     batch / seqlen strides arbitrary
//   A           : (dim, dstate) float32 contiguous        D, delta_bias : (dim) float32, or null
//   out         : (batch, seqlen, dim) in `dtype`, contiguous
//   saved_states: (batch, scan_saved_states(seqlen), dim, dstate) float32, or null when no backward follows
struct SelectiveScanCudaParams {
  int64_t batch = 0, seqlen = 0, dim = 0, dstate = 0;
  CudaDtype dtype = CudaDtype::kFloat32;
  const void* u = nullptr;
  int64_t u_batch_stride = 0, u_l_stride = 0;
  const void* delta = nullptr;
  int64_t delta_batch_stride = 0, delta_l_stride = 0;
  const void* B = nullptr;
  int64_t B_batch_stride = 0, B_l_stride = 0;
  const void* C = nullptr;
  int64_t C_batch_stride = 0, C_l_stride = 0;
  const void* z = nullptr;
  int64_t z_batch_stride = 0, z_l_stride = 0;
  const float* A = nullptr;
  const float* D = nullptr;
  const float* delta_bias = nullptr;
  bool delta_softplus = true;
  void* out = nullptr;
  float* saved_states = nullptr;
  void* stream = nullptr;  // cudaStream_t
};

// How the backward splits its reductions: dB / dC come back as one partial sum per channel group, dA / dD /
// ddelta_bias as one per batch group. The caller sums the partials over their first axis.
struct ScanBackwardSplit {
  int64_t channel_groups = 1, batch_groups = 1;
};
ScanBackwardSplit selective_scan_bwd_split(const SelectiveScanCudaParams& p);

// Every buffer is contiguous and fully overwritten.
//   dout, du, ddelta, dz : (batch, seqlen, dim) in `dtype`; dz only when z is given
//   dB_part, dC_part     : (channel_groups, batch, seqlen, dstate) float32
//   dA_part              : (batch_groups, dim, dstate) float32
//   dD_part, ddelta_bias_part : (batch_groups, dim) float32, only when D / delta_bias are given
struct SelectiveScanCudaGrads {
  const void* dout = nullptr;
  void* du = nullptr;
  void* ddelta = nullptr;
  void* dz = nullptr;
  float* dB_part = nullptr;
  float* dC_part = nullptr;
  float* dA_part = nullptr;
  float* dD_part = nullptr;
  float* ddelta_bias_part = nullptr;
};

// y = (<C_t, h_t> + D u_t) * silu(z_t), h_t = exp(dt_t A) h_{t-1} + dt_t B_t u_t, dt_t = softplus(delta_t + bias).
// Throws std::runtime_error on a launch failure or d_state > kScanMaxDstate.
void selective_scan_fwd_cuda(const SelectiveScanCudaParams& p);
// Needs p.saved_states from a forward on the same inputs. Deterministic.
void selective_scan_bwd_cuda(const SelectiveScanCudaParams& p, const SelectiveScanCudaGrads& g);

}  // namespace ftmamba::kernels
