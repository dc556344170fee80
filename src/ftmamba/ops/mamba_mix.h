// defines: mamba_mix, the part of a Mamba layer between in_proj and out_proj (causal conv + SiLU, x_proj, dt_proj,
// the selective scan and its gate) as one autograd node, and mamba_mix_reference (the same composed from the
// reference ops, for tests).
//
// Why one node: the written-out ops keep the conv's output x and dt_proj's output delta, (tokens, d_inner) each,
// for their backward; this node keeps only in_proj's output xz and x_proj's (tokens, rank + 2 d_state) output,
// and computes x (and, on a GPU, delta and the scan's chunk states) again in the backward. On the CPU, dt_proj runs
// inside the scan's kernel (ScanInputs::dt_low): delta is never written, and dt_proj's gradients come from the scan's
// backward. The backward also adds x_proj's input gradient into the scan's in place and writes the conv's and the
// gate's gradients straight into the two halves of xz's gradient, where autograd would add the two gradients of x in a
// new tensor and join the halves with a cat.
#pragma once
#include <torch/torch.h>

namespace ftmamba::ops {

// A Mamba mixer's weights, as nn::Mamba holds them (LibTorch parameters, any of them trainable):
//   conv_weight (d_inner, width), conv_bias (d_inner) or undefined, x_proj (rank + 2 d_state, d_inner),
//   dt_proj (d_inner, rank), dt_bias (d_inner), A = -exp(A_log) (d_inner, d_state), D (d_inner) or undefined.
struct MambaMixWeights {
  torch::Tensor conv_weight, conv_bias, x_proj, dt_proj, dt_bias, A, D;
};

// xz: (batch, L, 2 d_inner), in_proj's output [x | z], when gated; (batch, L, d_inner), x alone, when not (no gate:
// a caller that gates one position itself). Any strides with a unit last stride.
//   x = silu(conv(xz[..., :d_inner])); dt | B | C = x x_proj^T; delta = dt dt_proj^T;
//   y = selective_scan(x, delta, A, B, C, D, z, dt_bias, softplus)
// Returns y: (batch, L, d_inner) in xz's dtype (float32 / bfloat16 on the CPU and a GPU, float64 on the CPU;
// others through the reference ops). The projections run in xz's dtype (as autocast runs them), the conv and the
// scan with float32 parameters (float64 for float64 xz).
torch::Tensor mamba_mix(const torch::Tensor& xz, const MambaMixWeights& w, bool gated);

torch::Tensor mamba_mix_reference(const torch::Tensor& xz, const MambaMixWeights& w, bool gated);

}  // namespace ftmamba::ops
