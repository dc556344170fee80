// defines: add_rms_norm and its LibTorch reference (see add_rms_norm.h).
#include "ftmamba/ops/add_rms_norm.h"

#ifdef FTMAMBA_WITH_CUDA
#include "ftmamba/kernels/rms_norm_cuda.h"
#include "ftmamba/ops/cuda_util.h"
#endif

namespace ftmamba::ops {

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
  const auto xf = x.scalar_type() == torch::kFloat64 ? x : x.to(torch::kFloat32);
  const auto inv_rms = torch::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return (xf * inv_rms).to(x.scalar_type()) * weight;
}

torch::Tensor add_rms_norm_reference(torch::Tensor& residual, const torch::Tensor& delta, const torch::Tensor& weight,
                                     double eps, torch::ScalarType out_dtype) {
  if (delta.defined()) residual.add_(delta);
  return rms_norm(residual, weight, eps).to(out_dtype);
}

torch::Tensor add_rms_norm(torch::Tensor& residual, const torch::Tensor& delta, const torch::Tensor& weight, double eps,
                           torch::ScalarType out_dtype) {
#ifdef FTMAMBA_WITH_CUDA
  if (residual.is_cuda() && residual.dim() == 2 && cuda_util::contiguous_float32(residual) &&
      cuda_util::contiguous_float32(weight) && cuda_util::kernel_dtype(out_dtype) &&
      (!delta.defined() ||
       (delta.is_contiguous() && cuda_util::kernel_dtype(delta.scalar_type()) && delta.sizes() == residual.sizes()))) {
    auto out = torch::empty(residual.sizes(), residual.options().dtype(out_dtype));
    kernels::AddRmsNormCudaParams p;
    p.batch = residual.size(0);
    p.dim = residual.size(1);
    p.residual = residual.data_ptr<float>();
    if (delta.defined()) {
      p.delta = delta.data_ptr();
      p.delta_dtype = cuda_util::dtype_of(delta, "add + RMS norm");
    }
    p.weight = weight.data_ptr<float>();
    p.eps = static_cast<float>(eps);
    p.out = out.data_ptr();
    p.out_dtype = cuda_util::dtype_of(out, "add + RMS norm");
    p.stream = cuda_util::stream_for(residual);
    kernels::add_rms_norm_cuda(p);
    return out;
  }
#endif
  return add_rms_norm_reference(residual, delta, weight, eps, out_dtype);
}

}  // namespace ftmamba::ops
