// defines: what the CUDA wrappers need from ATen: whether a dtype has kernels, the kernels' dtype tag for a
// tensor, and the current stream. Built only with FTMAMBA_WITH_CUDA.
#pragma once
#include <torch/torch.h>

#include "ftmamba/kernels/cuda_common.h"

namespace ftmamba::ops::cuda_util {

// float32 / bfloat16 / float16; anything else is an error naming `what`.
kernels::CudaDtype dtype_of(const torch::Tensor& t, const char* what);
bool kernel_dtype(torch::ScalarType st);
// The current CUDA stream of t's device, as the kernels take it (cudaStream_t).
void* stream_for(const torch::Tensor& t);

// What the kernels' raw pointers need of a tensor: defined, contiguous and float32 (a parameter: conv weight, A_log,
// a norm's weight); float32 when defined (an optional one, as a bias); (rows, n) with unit stride along n (activations,
// possibly views of a wider row).
bool contiguous_float32(const torch::Tensor& t);
bool float32_or_undefined(const torch::Tensor& t);
bool rows_with_unit_stride(const torch::Tensor& t);

}  // namespace ftmamba::ops::cuda_util
