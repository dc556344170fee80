// defines: decode_layers, a language model's decode step through all its Mamba layers (no adapters) at once: on a
// CUDA device one resident kernel (kernels/decode_layers_cuda.h) where decode_layers_fused says it takes them; and
// decode_layers_reference, the same step composed of the per-layer references (add_rms_norm_linear_reference,
// conv_linear_reference, ssm_step_reference, linear_rows_reference), which the kernel is tested against.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

namespace ftmamba::ops {

// One layer: its norm, the mixer's parameters (nn::Mamba's, the conv's weight as (d_inner, width)) and its state.
struct DecodeLayer {
  torch::Tensor norm_weight;  // (d_model)
  double eps = 1e-5;
  torch::Tensor in_proj;                 // (2 d_inner, d_model)
  torch::Tensor conv_weight, conv_bias;  // (d_inner, width), (d_inner) or undefined
  torch::Tensor x_proj;                  // (rank + 2 d_state, d_inner)
  torch::Tensor dt_proj, dt_bias;        // (d_inner, rank), (d_inner)
  torch::Tensor A_log, D;                // (d_inner, d_state), (d_inner)
  torch::Tensor out_proj;                // (d_model, d_inner)
  torch::Tensor* conv_state = nullptr;   // (batch, width - 1, d_inner): advanced in place
  torch::Tensor* ssm_state = nullptr;    // (batch, d_inner, d_state) float32: advanced in place
};

struct DecodeLayersOut {
  torch::Tensor residual;  // (batch, d_model) float32: the residual stream before the last layer's output
  torch::Tensor delta;     // (batch, d_model) in the matrices' dtype: the last layer's output, still to be added
};

// residual (batch, d_model) float32, the embeddings of the step's tokens. Whether decode_layers takes these: a
// CUDA build and device, every matrix of one dtype (float32, bf16 or fp16) and the parameters float32, the conv
// state in the matrices' dtype, and sizes the kernel takes (kernels::decode_layers_takes).
bool decode_layers_fused(const torch::Tensor& residual, const std::vector<DecodeLayer>& layers);

// The layers' step in one kernel; throws std::invalid_argument unless decode_layers_fused. A state that is not
// contiguous (or not in the dtype above) is first replaced by one that is, as ops::conv_step does. With
// `phase_clock`, it is set to the step's profile: (blocks, marks) int64 on the device, each block's GPU clock in ns at
// the start, at its arrival at and exit from each grid barrier (one after each of a layer's phases, less the last
// layer's last) and at the end (kernels::DecodeLayersCudaParams::phase_clock).
DecodeLayersOut decode_layers(const torch::Tensor& residual, const std::vector<DecodeLayer>& layers,
                              torch::Tensor* phase_clock = nullptr);
// The names of a layer's phases in that profile, in order (the kernel's; empty in a build without CUDA).
std::vector<std::string> decode_layers_phases();
DecodeLayersOut decode_layers_reference(const torch::Tensor& residual, const std::vector<DecodeLayer>& layers);

}  // namespace ftmamba::ops
