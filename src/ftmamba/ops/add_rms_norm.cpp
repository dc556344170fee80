// defines: add_rms_norm and its LibTorch reference (see add_rms_norm.h).
#include "ftmamba/ops/add_rms_norm.h"

#ifdef FTMAMBA_WITH_CUDA
#include "ftmamba/kernels/rms_norm_cuda.h"
#include "ftmamba/ops/cuda_util.h"
#endif

namespace ftmamba::ops {
namespace {

// The statistics' dtype: float64 for float64 inputs, else float32.
torch::Tensor widened(const torch::Tensor& t) { return t.scalar_type() == torch::kFloat64 ? t : t.to(torch::kFloat32); }

// The norm's arithmetic, written out as LibTorch ops: y = (x rstd, in x's dtype) * weight, with rstd (..., 1) the
// reciprocal RMS in the statistics' dtype.
struct Normalised {
  torch::Tensor y, rstd;
};
Normalised normalise(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
  const auto xf = widened(x);
  const auto rstd = torch::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return {(xf * rstd).to(x.scalar_type()) * weight, rstd};
}

// One autograd node for the norm. Composed of LibTorch ops, autograd kept x * rstd as well as x for the product by
// the weight: a (rows, dim) float32 copy a layer, the size of the residual itself. This keeps x and rstd (rows);
// the backward forms x * rstd again.
struct RmsNormFn : torch::autograd::Function<RmsNormFn> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, double eps, int64_t out_dtype) {
    const auto n = normalise(x, weight, eps);
    ctx->save_for_backward({x, weight, n.rstd});
    return n.y.to(static_cast<torch::ScalarType>(out_dtype));
  }

  // With xh = x rstd and g = dy * weight: dx = rstd (g - xh mean(g xh)), dweight = sum over rows of dy xh.
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &weight = saved[1], &rstd = saved[2];
    const auto xh = widened(x) * rstd;
    const auto dy = grads[0].to(xh.scalar_type());
    const auto g = dy * weight.to(xh.scalar_type());
    const auto dx = rstd * (g - xh * (g * xh).mean(-1, /*keepdim=*/true));
    torch::Tensor dweight;
    if (weight.requires_grad()) dweight = (dy * xh).reshape({-1, xh.size(-1)}).sum(0).to(weight.scalar_type());
    return {dx.to(x.scalar_type()), dweight, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor rms_norm_reference(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
  return normalise(x, weight, eps).y;
}

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps,
                       std::optional<torch::ScalarType> out_dtype) {
  const auto dtype = out_dtype.value_or(torch::promote_types(x.scalar_type(), weight.scalar_type()));
  if (!torch::GradMode::is_enabled() || !(x.requires_grad() || weight.requires_grad()))
    return rms_norm_reference(x, weight, eps).to(dtype);
  return RmsNormFn::apply(x, weight, eps, static_cast<int64_t>(dtype));
}

torch::Tensor add_rms_norm_reference(torch::Tensor& residual, const torch::Tensor& delta, const torch::Tensor& weight,
                                     double eps, torch::ScalarType out_dtype) {
  if (delta.defined()) residual.add_(delta);
  return rms_norm_reference(residual, weight, eps).to(out_dtype);
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
