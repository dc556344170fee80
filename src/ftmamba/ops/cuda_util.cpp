// defines: cuda_util (see cuda_util.h).
#ifdef FTMAMBA_WITH_CUDA
#include "ftmamba/ops/cuda_util.h"

#include <ATen/cuda/CUDAContext.h>

namespace ftmamba::ops::cuda_util {

bool kernel_dtype(torch::ScalarType st) {
  return st == torch::kFloat32 || st == torch::kBFloat16 || st == torch::kFloat16;
}

kernels::CudaDtype dtype_of(const torch::Tensor& t, const char* what) {
  switch (t.scalar_type()) {
    case torch::kFloat32:
      return kernels::CudaDtype::kFloat32;
    case torch::kBFloat16:
      return kernels::CudaDtype::kBFloat16;
    case torch::kFloat16:
      return kernels::CudaDtype::kFloat16;
    default:
      TORCH_CHECK(false, what, ": the CUDA kernels take float32, bfloat16 or float16, got ", t.scalar_type());
  }
}

void* stream_for(const torch::Tensor& t) {
  return static_cast<void*>(at::cuda::getCurrentCUDAStream(t.device().index()).stream());
}

bool contiguous_float32(const torch::Tensor& t) {
  return t.defined() && t.is_contiguous() && t.scalar_type() == torch::kFloat32;
}

bool float32_or_undefined(const torch::Tensor& t) { return !t.defined() || t.scalar_type() == torch::kFloat32; }

bool rows_with_unit_stride(const torch::Tensor& t) { return t.dim() == 2 && (t.size(1) <= 1 || t.stride(1) == 1); }

}  // namespace ftmamba::ops::cuda_util
#endif
