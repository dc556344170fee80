// defines: a language model's decode step through all its Mamba layers in one kernel, over raw pointers.
//
// At batch 1 a decode step reads every weight once: at the 370M shape in bf16, 13 MB a layer, 4.3 us at the H100's
// copy bandwidth. The four kernels a layer of decode_gemv_cuda and mamba_step_cuda spend about 30 us a layer, most
// of it in starting kernels and waiting on the first bytes of each weight. This kernel stays resident on every SM
// for the whole step (one block an SM, a cooperative launch) and parts the layers' work with grid-wide barriers, four
// a layer:
//   A  residual += the last layer's output; h = rms_norm(residual) * norm_weight;  xz = in_proj h
//   B  x = silu(conv(window, x half of xz)), on the few blocks that then do x_proj: x_dbl = x_proj x (dt | B | C)
//   C  the SSM step, a half-warp a channel (a lane a state): dt = softplus(dt_proj dt + dt_bias),
//      h = exp(dt A) h + dt B x, y = (C h + D x) * silu(z); the conv window and the state advance in place
//   D  delta = out_proj y
// Before each barrier a warp already reads its first weight rows of the next phase (weights are no phase's output),
// and the small parameters that phase reads first are asked into L2, so the memory works while the grid waits. The
// arithmetic and its roundings are those of the four kernels (add_rms_norm_linear, conv_linear, ssm_step, linear_rows);
// only the order of some sums differs. ops/decode_layers.h holds the LibTorch reference. No ATen or CUDA headers here.
#pragma once
#include <cstdint>

#include "ftmamba/kernels/cuda_common.h"

namespace ftmamba::kernels {

constexpr int64_t kDecodeLayersMaxLayers = 64;  // the layers travel in the kernel's parameters
constexpr int64_t kDecodeLayersMaxBatch = 4;
constexpr int64_t kDecodeLayersStateSize = 16;  // d_state: a half-warp's lanes
constexpr int64_t kDecodeLayersMaxRank = 192;   // dt_proj's rank: 12 weights a lane
// A layer's phases, each ended by a grid barrier but the last layer's last: what the profile (phase_clock) names.
constexpr int64_t kDecodeLayersPhases = 4;
constexpr const char* kDecodeLayersPhaseNames[kDecodeLayersPhases] = {"norm, in_proj", "conv, x_proj", "SSM step",
                                                                      "out_proj"};

// One layer's tensors. The matrices in the step's dtype, (out, in), contiguous, 16-byte aligned; the rest float32.
struct DecodeLayerPointers {
  const float* norm_weight = nullptr;  // (d_model)
  float eps = 1e-5f;
  const void* in_proj = nullptr;       // (2 d_inner, d_model)
  const float* conv_weight = nullptr;  // (d_inner, width)
  const float* conv_bias = nullptr;    // (d_inner) or null
  const void* x_proj = nullptr;        // (rank + 2 d_state, d_inner)
  const void* dt_proj = nullptr;       // (d_inner, rank)
  const float* dt_bias = nullptr;      // (d_inner)
  const float* A_log = nullptr;        // (d_inner, d_state): A = -exp(A_log)
  const float* D = nullptr;            // (d_inner)
  const void* out_proj = nullptr;      // (d_model, d_inner)
  void* conv_state = nullptr;          // (batch, width - 1, d_inner) in the step's dtype, oldest first; advanced
  float* ssm_state = nullptr;          // (batch, d_inner, d_state); advanced
};

// residual: (2, batch, d_model) float32: [0] holds the step's input (the embeddings); the layers alternate between
// the two, and [n_layers % 2] holds the result, to which `delta` (the last layer's output) is still to be added.
// xz (batch, 2 d_inner), x_dbl (batch, rank + 2 d_state), y (batch, d_inner), delta (batch, d_model): in the step's
// dtype, contiguous, the kernel's own. barrier: one counter, zero at the launch.
struct DecodeLayersCudaParams {
  int64_t batch = 0, n_layers = 0, d_model = 0, d_inner = 0, rank = 0, conv_width = 0;
  CudaDtype dtype = CudaDtype::kFloat32;
  float* residual = nullptr;
  void* xz = nullptr;
  void* x_dbl = nullptr;
  void* y = nullptr;
  void* delta = nullptr;
  unsigned* barrier = nullptr;
  // Null, or (blocks, decode_layers_phase_marks(n_layers)): each block's first thread writes the GPU's clock (ns) at
  // the step's start, at its arrival at and its exit from each grid barrier, and at its end; a profile of the step.
  unsigned long long* phase_clock = nullptr;
  DecodeLayerPointers layers[kDecodeLayersMaxLayers] = {};
  void* stream = nullptr;  // cudaStream_t
};

// Whether the kernel takes these sizes (element_bytes: the step's dtype's), on the current device.
bool decode_layers_takes(int64_t batch, int64_t n_layers, int64_t d_model, int64_t d_inner, int64_t rank,
                         int64_t d_state, int64_t conv_width, int64_t element_bytes);

// The kernel's blocks on the current device (one an SM), and the clock marks a block writes for n layers.
int64_t decode_layers_blocks();
int64_t decode_layers_phase_marks(int64_t n_layers);

// Throws std::runtime_error on sizes it does not take or a launch failure.
void decode_layers_cuda(const DecodeLayersCudaParams& p);

}  // namespace ftmamba::kernels
