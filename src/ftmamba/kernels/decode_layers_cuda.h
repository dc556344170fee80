// defines: a language model's decode step through all its Mamba layers in one kernel, over raw pointers.
//
// At batch 1 a decode step reads every weight once: at the 370M shape in bf16, 13 MB a layer, 4.3 us at the H100's
// copy bandwidth. This kernel stays resident on every SM for the whole step (one block an SM, a cooperative launch).
// Each block owns a slice of every layer: d_inner / blocks channels (their in_proj rows, both halves; their conv,
// x_proj columns and SSM state) and d_model / blocks rows of out_proj. One warp of the block streams the block's
// in_proj and out_proj rows, layer after layer, into a ring of shared memory (bulk asynchronous copies, sm_90),
// running ahead of the arithmetic by the ring's size and never waiting for it except for a free slot; so the weights
// flow from memory while the grid waits at its barriers. The other 16 warps do the arithmetic, in three phases a
// layer parted by grid-wide barriers:
//   A  residual += the last layer's output; h = rms_norm(residual) * norm_weight; the block's rows of xz = in_proj h;
//      x = silu(conv(window, x)) for its channels (the window advanced in place), and their part of
//      x_dbl = x_proj x, added into a grid-wide sum in fixed point (integer adds, so that the order in which the
//      blocks add does not change the bits)
//   C  the SSM step of the block's channels, a half-warp a channel (a lane a state): dt = softplus(dt_proj dt +
//      dt_bias), h = exp(dt A) h + dt B x, y = (C h + D x) * silu(z)
//   D  the block's rows of delta = out_proj y
// The small inputs of a layer's channels (the SSM state, A, D, dt_proj's rows, the conv's window and weights, x_proj's
// columns) are read into registers a phase ahead. The arithmetic and its roundings are those of the per-layer kernels
// (add_rms_norm_linear, conv_linear, ssm_step, linear_rows), but for the order of some sums and x_dbl's fixed point
// (a step of 2^-30, each block's part clamped to 2^24). ops/decode_layers.h holds the LibTorch reference. No ATen or
// CUDA headers here.
#pragma once
#include <cstdint>

#include "ftmamba/kernels/cuda_common.h"

namespace ftmamba::kernels {

constexpr int64_t kDecodeLayersMaxLayers = 64;  // the layers travel in the kernel's parameters
constexpr int64_t kDecodeLayersMaxBatch = 4;
constexpr int64_t kDecodeLayersStateSize = 16;            // d_state: a half-warp's lanes
constexpr int64_t kDecodeLayersMaxRank = 192;             // dt_proj's rank: 12 weights a lane
constexpr int64_t kDecodeLayersMaxChannelsPerBlock = 32;  // d_inner / SMs: x_proj's columns a thread holds

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
// y (batch, d_inner), delta (batch, d_model): in the step's dtype, contiguous, the kernel's own. x_dbl_sum and
// x_dbl_bad (batch, rank + 2 d_state) each: x_proj's output as a fixed-point sum and a flag for a part that was not a
// finite number; barrier: one counter. These three are zero at the launch, and the kernel leaves them zero.
struct DecodeLayersCudaParams {
  int64_t batch = 0, n_layers = 0, d_model = 0, d_inner = 0, rank = 0, conv_width = 0;
  CudaDtype dtype = CudaDtype::kFloat32;
  float* residual = nullptr;
  void* y = nullptr;
  void* delta = nullptr;
  unsigned long long* x_dbl_sum = nullptr;
  unsigned* x_dbl_bad = nullptr;
  unsigned* barrier = nullptr;
  DecodeLayerPointers layers[kDecodeLayersMaxLayers] = {};
  void* stream = nullptr;  // cudaStream_t
};

// Whether the kernel takes these sizes (element_bytes: the step's dtype's) on the current device: an sm_90 or later
// GPU, and shapes whose slices fit the kernel's registers and shared memory.
bool decode_layers_takes(int64_t batch, int64_t n_layers, int64_t d_model, int64_t d_inner, int64_t rank,
                         int64_t d_state, int64_t conv_width, int64_t element_bytes);

// Throws std::runtime_error on sizes it does not take or a launch failure.
void decode_layers_cuda(const DecodeLayersCudaParams& p);

}  // namespace ftmamba::kernels
