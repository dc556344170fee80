// defines: SelectiveScanCudaParams / SelectiveScanCudaGrads and the fused CUDA selective-scan kernels over raw
// pointers (no ATen, no CUDA headers here, so plain C++ callers can include it). The kernels are in
// selective_scan_cuda_{fwd,bwd}.cu; how they are launched for a given SM count, in selective_scan_cuda_plan.h.
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
  // Scratch for a pass that splits L into segments: selective_scan_fwd_workspace_floats(p) floats for the
  // forward, selective_scan_bwd_workspace_floats(p) for the backward; null when that count is 0.
  float* workspace = nullptr;
  // The forward's layout (ScanForwardPlan); 0 leaves each choice to the shape. Tests and benchmarks set
  // them to cover and compare every layout.
  int fwd_states_per_lane = 0;    // 16, 4 or 2
  int64_t fwd_segments = 0;       // 1: never split L
  bool fwd_scalar_loads = false;  // true: the forward's loader never takes four channels at a time (kVec)
  int bwd_sums = 0;               // the backward's group sums, 1 or 4 (selective_scan_bwd_sums); 0: by shape
  int64_t bwd_segments = 0;       // the backward's segments (ScanBackwardSplit); 1: never split L; 0: by shape
  void* stream = nullptr;         // cudaStream_t
};

// How the forward splits a long sequence into segments scanned side by side, when there are too few
// (batch row, channel) lanes to fill the GPU. A first pass scans every segment but the last from a zero
// state and keeps its end state and its summed time steps; the main pass starts each segment from the
// combination of the segments before it, h = exp(A sum dt) h + h_end. The first pass costs a second
// exp per state and step, so segments are the last resort.
struct ScanSegments {
  int64_t count = 1;  // segments per sequence
  int64_t len = 0;    // steps per segment, a multiple of kScanChunk (the last may be shorter)
};
// The forward's launch layout. A channel's d_state states are spread over lanes of `states_per_lane` each:
// 16 (one lane a channel at N <= 16: most arithmetic per lane) when batch x channels fill the GPU, as at the
// tabular shape; 4 (four lanes a channel) when they do not, as at the LM shape (8 x 1536 channels), which
// gives four times the lanes without recomputing anything; 2 (eight lanes) when four leave an SM under 2
// blocks and eight do not. Segments come on top only when even that is too few.
struct ScanForwardPlan {
  int states_per_lane = 16;  // 16, 4 or 2
  ScanSegments seg;
};
// The plan on the current device (selective_scan_cuda_plan.h takes the SM count instead).
ScanForwardPlan selective_scan_fwd_plan(const SelectiveScanCudaParams& p);
// Floats of p.workspace the forward needs: (batch, count - 1, dim, dstate + 1); 0 without segments.
int64_t selective_scan_fwd_workspace_floats(const SelectiveScanCudaParams& p);

// How the backward splits its work: the grid is (channel_groups, batch_groups, seg.count). dB / dC come back
// as one partial sum per channel group, dA / dD / ddelta_bias as one per (segment, batch group):
// param_partials() of them. The caller sums the partials over their first axis.
//
// Segments, when batch x channels leave the GPU short of blocks (batch 1-2 at a 370M model's d_inner 2048,
// L 512-1024), mirror the forward's: a first pass walks every segment but the first backwards from a zero
// adjoint and keeps the adjoint it reaches at the segment's start and the segment's summed time steps; the
// main pass starts segment i from the combination of the segments after it, g = exp(A sum dt_j) g + g_j for
// j from the last down to i + 1, and walks its chunks as an unsplit backward walks the whole sequence.
struct ScanBackwardSplit {
  int64_t channel_groups = 1, batch_groups = 1;
  ScanSegments seg;
  FTMAMBA_HOST_DEVICE int64_t param_partials() const { return batch_groups * seg.count; }
};
// On the current device (selective_scan_cuda_plan.h takes the SM count instead).
ScanBackwardSplit selective_scan_bwd_split(const SelectiveScanCudaParams& p);
// Floats of p.workspace the backward needs: (batch, count - 1, dim, dstate + 1); 0 without segments.
int64_t selective_scan_bwd_workspace_floats(const SelectiveScanCudaParams& p);
// How the backward sums its parked terms after each group of steps: 1: groups of 2, the first warp forming
// every channel's du / ddelta / dz while two others sum the dB / dC terms; 4: groups of 4 (half the
// barriers), the sums spread over the block, one (step, channel) row of outputs and one term sum a thread;
// 3 blocks an SM at most. p.bwd_sums when set, else by shape (4 when L fills 16-step chunks and the grid
// gives at most 3 blocks an SM, as at the LM shape). 4 applies at 4 lanes a channel (9 <= d_state <= 16)
// and L > 14; elsewhere the kernel takes 1.
int selective_scan_bwd_sums(const SelectiveScanCudaParams& p);

// Every buffer is contiguous and fully overwritten.
//   dout, du, ddelta, dz : (batch, seqlen, dim) in `dtype`; dz only when z is given
//   dB_part, dC_part     : (channel_groups, batch, seqlen, dstate) float32
//   dA_part              : (param_partials(), dim, dstate) float32
//   dD_part, ddelta_bias_part : (param_partials(), dim) float32, only when D / delta_bias are given
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

// The gradients the backward's partials sum to (over their first axis), formed by one kernel launch.
//   dB, dC : (batch, seqlen, dstate) in `dtype`     dA : (dim, dstate) float32
//   dD, ddelta_bias : (dim) float32, null when their partials are
struct ScanPartialSums {
  ScanBackwardSplit split;
  int64_t batch = 0, seqlen = 0, dim = 0, dstate = 0;
  CudaDtype dtype = CudaDtype::kFloat32;
  const float* dB_part = nullptr;
  const float* dC_part = nullptr;
  const float* dA_part = nullptr;
  const float* dD_part = nullptr;
  const float* ddelta_bias_part = nullptr;
  void* dB = nullptr;
  void* dC = nullptr;
  float* dA = nullptr;
  float* dD = nullptr;
  float* ddelta_bias = nullptr;
  void* stream = nullptr;  // cudaStream_t
};

// y = (<C_t, h_t> + D u_t) * silu(z_t), h_t = exp(dt_t A) h_{t-1} + dt_t B_t u_t, dt_t = softplus(delta_t + bias).
// Throws std::runtime_error on a launch failure or d_state > kScanMaxDstate.
void selective_scan_fwd_cuda(const SelectiveScanCudaParams& p);
// Needs p.saved_states from a forward on the same inputs. Deterministic.
void selective_scan_bwd_cuda(const SelectiveScanCudaParams& p, const SelectiveScanCudaGrads& g);
// Sums every partial of a backward in one launch (a fixed order per element: deterministic).
void selective_scan_sum_partials_cuda(const ScanPartialSums& s);

}  // namespace ftmamba::kernels
