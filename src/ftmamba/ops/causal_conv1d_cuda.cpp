// defines: the CUDA causal conv1d's ATen binding and autograd Function (see causal_conv1d_cuda.h).
#ifdef FTMAMBA_WITH_CUDA
#include "ftmamba/ops/causal_conv1d_cuda.h"

#include <c10/cuda/CUDAGuard.h>

#include "ftmamba/kernels/causal_conv1d_cuda.h"
#include "ftmamba/ops/causal_conv1d.h"
#include "ftmamba/ops/cuda_util.h"
#include "ftmamba/ops/function_args.h"

namespace ftmamba::ops::cuda_conv {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

kernels::CausalConv1dCudaParams make_params(const ConvInputs& in) {
  TORCH_CHECK(in.x.dim() == 3 && (in.x.size(2) == 1 || in.x.stride(2) == 1),
              "causal_conv1d (CUDA): x must be (batch, L, channels) with a unit channel stride");
  TORCH_CHECK(in.weight.scalar_type() == torch::kFloat32 && in.weight.is_contiguous() && in.weight.dim() == 2 &&
                  in.weight.size(0) == in.x.size(2) && supports_width(in.weight.size(1)),
              "causal_conv1d (CUDA): weight must be contiguous float32 (channels, width <= ", kernels::kConvMaxWidth,
              ")");
  TORCH_CHECK(!in.bias.defined() || (in.bias.scalar_type() == torch::kFloat32 && in.bias.is_contiguous()),
              "causal_conv1d (CUDA): bias must be contiguous float32");
  kernels::CausalConv1dCudaParams p;
  p.batch = in.x.size(0);
  p.seqlen = in.x.size(1);
  p.channels = in.x.size(2);
  p.width = in.weight.size(1);
  p.dtype = cuda_util::dtype_of(in.x, "causal_conv1d");
  p.x = in.x.data_ptr();
  p.x_batch_stride = in.x.stride(0);
  p.x_l_stride = in.x.stride(1);
  p.weight = in.weight.data_ptr<float>();
  p.bias = in.bias.defined() ? in.bias.data_ptr<float>() : nullptr;
  p.silu = in.silu;
  p.stream = cuda_util::stream_for(in.x);
  return p;
}

struct CausalConv1dCudaFn : torch::autograd::Function<CausalConv1dCudaFn> {
  // bias is an empty placeholder when has_bias is false (Function::apply cannot take an undefined tensor).
  static Tensor forward(AutogradContext* ctx, Tensor x, Tensor weight, Tensor bias, bool silu, bool has_bias) {
    const ConvInputs in{x, weight, has_bias ? bias : Tensor(), silu};
    Tensor out = torch::empty({x.size(0), x.size(1), x.size(2)}, x.options());  // (batch, L, channels)
    forward_into(in, out);
    ctx->save_for_backward({x, weight, bias});
    ctx->saved_data["silu"] = silu;
    ctx->saved_data["has_bias"] = has_bias;
    return out;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const bool has_bias = ctx->saved_data["has_bias"].toBool();
    const ConvInputs in{saved[0], saved[1], has_bias ? saved[2] : Tensor(), ctx->saved_data["silu"].toBool()};
    if (!grads[0].defined()) return tensor_list(5);
    const ConvGradients g = cuda_conv::backward(in, grads[0]);
    return {g.dx, g.dweight, g.dbias, Tensor(), Tensor()};
  }
};

}  // namespace

bool supports_width(int64_t width) { return width >= 1 && width <= kernels::kConvMaxWidth; }

ConvBackwardBuffers empty_backward_buffers(const ConvInputs& in) {
  const int64_t groups = kernels::causal_conv1d_bwd_groups(make_params(in));
  const auto f32 = in.x.options().dtype(torch::kFloat32);
  ConvBackwardBuffers b;
  b.dx = torch::empty({in.x.size(0), in.x.size(1), in.x.size(2)}, in.x.options());
  b.dweight_part = torch::empty({groups, in.weight.size(0), in.weight.size(1)}, f32);
  if (in.bias.defined()) b.dbias_part = torch::empty({groups, in.weight.size(0)}, f32);
  return b;
}

void forward_into(const ConvInputs& in, const Tensor& out) {
  TORCH_CHECK(out.is_contiguous() && out.sizes() == in.x.sizes() && out.scalar_type() == in.x.scalar_type(),
              "causal_conv1d (CUDA): out must be contiguous, shaped and typed like x");
  const c10::cuda::CUDAGuard guard(in.x.device());
  auto p = make_params(in);
  p.out = out.data_ptr();
  kernels::causal_conv1d_fwd_cuda(p);
}

void backward_into(const ConvInputs& in, const Tensor& dout, const ConvBackwardBuffers& b) {
  TORCH_CHECK(dout.is_contiguous() && dout.sizes() == in.x.sizes() && dout.scalar_type() == in.x.scalar_type(),
              "causal_conv1d (CUDA): dout must be contiguous, shaped and typed like x");
  const c10::cuda::CUDAGuard guard(in.x.device());
  const auto p = make_params(in);
  kernels::CausalConv1dCudaGrads g;
  g.dout = dout.data_ptr();
  g.dx = b.dx.data_ptr();
  g.dweight_part = b.dweight_part.data_ptr<float>();
  g.dbias_part = b.dbias_part.defined() ? b.dbias_part.data_ptr<float>() : nullptr;
  kernels::causal_conv1d_bwd_cuda(p, g);
}

ConvGradients backward(const ConvInputs& in, const Tensor& dout) {
  const ConvBackwardBuffers b = empty_backward_buffers(in);
  backward_into(in, dout.to(in.x.scalar_type()).contiguous(), b);
  return {b.dx, b.dweight_part.sum(0), b.dbias_part.defined() ? b.dbias_part.sum(0) : Tensor()};
}

Tensor causal_conv1d(const ConvInputs& in) {
  return CausalConv1dCudaFn::apply(
      function_args::unit_last_stride(in.x), in.weight.contiguous(),
      function_args::placeholder_if_undefined(function_args::contiguous_or_undefined(in.bias), in.weight), in.silu,
      in.bias.defined());
}

}  // namespace ftmamba::ops::cuda_conv
#endif
