// defines: the CUDA path of causal_conv1d (an autograd Function over kernels/causal_conv1d_cuda.cu) and the
// raw forward / backward calls behind it, which the GPU tests also call on pre-filled buffers. Built only
// with FTMAMBA_WITH_CUDA; nn::causal_conv1d sends CUDA tensors here.
#pragma once
#include <torch/torch.h>

#include "ftmamba/ops/causal_conv1d.h"

namespace ftmamba::ops::cuda_conv {

// ConvInputs (causal_conv1d.h) on one CUDA device: x float32 / bfloat16 / float16; weight (channels, width) float32,
// width <= kernels::kConvMaxWidth; bias float32 or undefined.
using ops::ConvInputs;

struct ConvBackwardBuffers {
  torch::Tensor dx, dweight_part, dbias_part;  // dx in x's dtype; partials float32, summed over axis 0
};

bool supports_width(int64_t width);
ConvBackwardBuffers empty_backward_buffers(const ConvInputs& in);
void forward_into(const ConvInputs& in, const torch::Tensor& out);  // out: (batch, L, channels) contiguous
void backward_into(const ConvInputs& in, const torch::Tensor& dout, const ConvBackwardBuffers& buffers);
// The gradients: backward_into on new buffers, the partials summed. dout: (batch, L, channels) in any dtype and layout.
ConvGradients backward(const ConvInputs& in, const torch::Tensor& dout);

torch::Tensor causal_conv1d(const ConvInputs& in);  // differentiable

}  // namespace ftmamba::ops::cuda_conv
