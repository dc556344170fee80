// defines: linear_rows, add_rms_norm_linear, conv_linear and their LibTorch references (see decode_linear.h).
#include "ftmamba/ops/decode_linear.h"

#include "ftmamba/ops/add_rms_norm.h"
#include "ftmamba/ops/mamba_step.h"

#ifdef FTMAMBA_WITH_CUDA
#include <cstdint>

#include "ftmamba/kernels/decode_gemv_cuda.h"
#include "ftmamba/ops/cuda_util.h"
#endif

namespace ftmamba::ops {
namespace {

#ifdef FTMAMBA_WITH_CUDA
// Whether the kernel takes x (rows, in) against weight, whose rows it reads as 16-byte chunks.
bool gemv_takes(const torch::Tensor& x, const torch::Tensor& weight) {
  return x.is_cuda() && x.dim() == 2 && weight.dim() == 2 && weight.is_contiguous() && weight.size(1) == x.size(1) &&
         weight.device() == x.device() && cuda_util::kernel_dtype(weight.scalar_type()) &&
         reinterpret_cast<std::uintptr_t>(weight.data_ptr()) % 16 == 0 &&
         kernels::decode_gemv_takes(x.size(0), x.size(1), weight.element_size());
}

// The parameters every prologue shares: sizes, the weight, the output (allocated here).
kernels::DecodeGemvCudaParams gemv_params(const torch::Tensor& x, const torch::Tensor& weight, torch::Tensor& out) {
  out = torch::empty({x.size(0), weight.size(0)}, weight.options());
  kernels::DecodeGemvCudaParams p;
  p.batch = x.size(0);
  p.in = x.size(1);
  p.out = weight.size(0);
  p.weight_dtype = cuda_util::dtype_of(weight, "decode product");
  p.weight = weight.data_ptr();
  p.x = x.data_ptr();
  p.x_stride = x.stride(0);
  p.y = out.data_ptr();
  p.stream = cuda_util::stream_for(x);
  return p;
}
#endif

}  // namespace

torch::Tensor linear_rows_reference(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  if (x.size(0) != 1) return torch::linear(x, weight, bias);
  const auto v = x.squeeze(0).to(weight.scalar_type());
  return (bias.defined() ? torch::addmv(bias, weight, v) : torch::mv(weight, v)).unsqueeze(0);
}

torch::Tensor linear_rows(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
#ifdef FTMAMBA_WITH_CUDA
  if (!bias.defined() && gemv_takes(x, weight) && cuda_util::kernel_dtype(x.scalar_type()) &&
      cuda_util::rows_with_unit_stride(x)) {
    torch::Tensor out;
    auto p = gemv_params(x, weight, out);
    p.x_dtype = cuda_util::dtype_of(x, "decode product");
    kernels::decode_gemv_cuda(p);
    return out;
  }
#endif
  return linear_rows_reference(x, weight, bias);
}

NormLinear add_rms_norm_linear_reference(const torch::Tensor& residual, const torch::Tensor& delta,
                                         const torch::Tensor& norm_weight, double eps, const torch::Tensor& weight) {
  NormLinear r;
  r.residual = residual.clone();
  const auto h = add_rms_norm_reference(r.residual, delta, norm_weight, eps, weight.scalar_type());
  r.out = linear_rows_reference(h, weight);
  return r;
}

NormLinear add_rms_norm_linear(const torch::Tensor& residual, const torch::Tensor& delta,
                               const torch::Tensor& norm_weight, double eps, const torch::Tensor& weight) {
#ifdef FTMAMBA_WITH_CUDA
  if (gemv_takes(residual, weight) && residual.scalar_type() == torch::kFloat32 &&
      cuda_util::rows_with_unit_stride(residual) && cuda_util::contiguous_float32(norm_weight) &&
      norm_weight.numel() == residual.size(1) &&
      (!delta.defined() ||
       (delta.is_contiguous() && cuda_util::kernel_dtype(delta.scalar_type()) && delta.sizes() == residual.sizes()))) {
    NormLinear r;
    auto p = gemv_params(residual, weight, r.out);
    r.residual = torch::empty(residual.sizes(), residual.options().memory_format(torch::MemoryFormat::Contiguous));
    p.prologue = kernels::GemvPrologue::kAddRmsNorm;
    if (delta.defined()) {
      p.delta = delta.data_ptr();
      p.x_dtype = cuda_util::dtype_of(delta, "decode product");
    }
    p.norm_weight = norm_weight.data_ptr<float>();
    p.eps = static_cast<float>(eps);
    p.residual_out = r.residual.data_ptr<float>();
    kernels::decode_gemv_cuda(p);
    return r;
  }
#endif
  NormLinear r;  // the reference's composition, of the ops that have kernels of their own
  r.residual = residual.clone();
  r.out = linear_rows(add_rms_norm(r.residual, delta, norm_weight, eps, weight.scalar_type()), weight);
  return r;
}

torch::Tensor conv_linear_reference(const torch::Tensor& x_in, const torch::Tensor& conv_state,
                                    const torch::Tensor& conv_weight, const torch::Tensor& conv_bias,
                                    const torch::Tensor& weight) {
  auto window = conv_state.clone();  // conv_step_reference advances the window it is given
  return linear_rows_reference(conv_step_reference(x_in, window, conv_weight, conv_bias), weight);
}

torch::Tensor conv_linear(const torch::Tensor& x_in, const torch::Tensor& conv_state, const torch::Tensor& conv_weight,
                          const torch::Tensor& conv_bias, const torch::Tensor& weight) {
#ifdef FTMAMBA_WITH_CUDA
  const int64_t width = conv_weight.dim() == 2 ? conv_weight.size(1) : 0;
  if (gemv_takes(x_in, weight) && cuda_util::kernel_dtype(x_in.scalar_type()) &&
      cuda_util::rows_with_unit_stride(x_in) && conv_state.is_contiguous() &&
      conv_state.scalar_type() == x_in.scalar_type() && width >= 1 && conv_state.dim() == 3 &&
      conv_state.size(1) == width - 1 && cuda_util::contiguous_float32(conv_weight) &&
      (!conv_bias.defined() || cuda_util::contiguous_float32(conv_bias))) {
    torch::Tensor out;
    auto p = gemv_params(x_in, weight, out);
    p.prologue = kernels::GemvPrologue::kConv;
    p.x_dtype = cuda_util::dtype_of(x_in, "decode product");
    p.conv_state = conv_state.data_ptr();
    p.conv_weight = conv_weight.data_ptr<float>();
    p.conv_bias = conv_bias.defined() ? conv_bias.data_ptr<float>() : nullptr;
    p.conv_width = width;
    kernels::decode_gemv_cuda(p);
    return out;
  }
#endif
  auto window = conv_state.clone();  // the reference's composition, of the ops that have kernels of their own
  return linear_rows(conv_step(x_in, window, conv_weight, conv_bias), weight);
}

}  // namespace ftmamba::ops
