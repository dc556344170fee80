// defines: the CUDA path of selective_scan (an autograd Function over kernels/selective_scan_cuda.h) and the
// raw forward / backward calls behind it, which the GPU tests also call on pre-filled buffers. Built only
// with FTMAMBA_WITH_CUDA; nn::selective_scan sends CUDA tensors here.
#pragma once
#include <torch/torch.h>

#include "ftmamba/ops/selective_scan.h"

namespace ftmamba::ops::cuda_scan {

// ScanInputs (selective_scan.h) on one CUDA device: u, delta, z, B, C in float32, bfloat16 or float16; A, D and
// delta_bias float32.
using ops::ScanGradients;
using ops::ScanInputs;

// What the backward kernel writes: gradients of the activations in their dtype, and float32 partial sums
// (first axis) for the rest. See kernels/selective_scan_cuda.h.
struct ScanBackwardBuffers {
  torch::Tensor du, ddelta, dz, dB_part, dC_part, dA_part, dD_part, ddelta_bias_part;
};

// (batch, saved chunk states, d_inner, d_state) float32: what forward_into writes when a backward follows.
torch::Tensor empty_saved_states(const ScanInputs& in);
ScanBackwardBuffers empty_backward_buffers(const ScanInputs& in);

// out: (batch, L, d_inner) contiguous in u's dtype. saved_states may be undefined (inference).
void forward_into(const ScanInputs& in, const torch::Tensor& out, const torch::Tensor& saved_states);
// dout: (batch, L, d_inner); saved_states from forward_into on the same inputs.
void backward_into(const ScanInputs& in, const torch::Tensor& saved_states, const torch::Tensor& dout,
                   const ScanBackwardBuffers& buffers);
// Sums the partials: dB / dC in u's dtype, dA / dD / ddelta_bias in float32.
ScanGradients reduce_partials(const ScanInputs& in, const ScanBackwardBuffers& buffers);
// The gradients: backward_into on new buffers, then reduce_partials. dout: (batch, L, d_inner) in any dtype and
// layout.
ScanGradients backward(const ScanInputs& in, const torch::Tensor& saved_states, const torch::Tensor& dout);

// The forward's launch layout (kernels::ScanForwardPlan), normally chosen by shape. Tests and benchmarks
// force one, process-wide, to cover or compare every layout; ForwardLayout{} restores the choice by shape.
struct ForwardLayout {
  int states_per_lane = 0;    // 16, 4 or 2; 0: by shape
  int64_t segments = 0;       // 1: never split L; 0: by shape
  bool scalar_loads = false;  // true: one (step, channel) a load even where rows allow four channels at once
};
void force_forward_layout(const ForwardLayout& layout);
// Likewise the backward's group sums (kernels::selective_scan_bwd_sums: 1 or 4; 0: by shape) and segments
// (kernels::ScanBackwardSplit: 1 never splits L; 0: by shape).
struct BackwardLayout {
  int sums = 0;
  int64_t segments = 0;
};
void force_backward_layout(const BackwardLayout& layout);

// The differentiable scan; inputs as ScanInputs.
torch::Tensor selective_scan(const ScanInputs& in);

}  // namespace ftmamba::ops::cuda_scan
