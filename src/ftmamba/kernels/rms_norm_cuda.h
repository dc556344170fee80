// defines: the CUDA kernel of a decode step's residual add and RMS norm, over raw pointers: residual += delta (in
// place, float32), then out = residual / rms(residual) * weight, in out's dtype (the next matmul's). One kernel
// where LibTorch launches about eight. ops/add_rms_norm.h holds the LibTorch reference. No ATen or CUDA headers.
#pragma once
#include <cstdint>

#include "ftmamba/kernels/cuda_common.h"

namespace ftmamba::kernels {

// residual: (batch, dim) float32 contiguous, updated in place when delta is given
// delta: (batch, dim) in delta_dtype, contiguous, or null     weight: (dim) float32
// out: (batch, dim) in out_dtype, contiguous
struct AddRmsNormCudaParams {
  int64_t batch = 0, dim = 0;
  float* residual = nullptr;
  const void* delta = nullptr;
  CudaDtype delta_dtype = CudaDtype::kFloat32;
  const float* weight = nullptr;
  float eps = 1e-5f;
  void* out = nullptr;
  CudaDtype out_dtype = CudaDtype::kFloat32;
  void* stream = nullptr;  // cudaStream_t
};

// Throws std::runtime_error on a launch failure.
void add_rms_norm_cuda(const AddRmsNormCudaParams& p);

}  // namespace ftmamba::kernels
