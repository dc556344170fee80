// defines: causal_conv1d (torch::autograd::Function over the CPU kernel in kernels/causal_conv1d_cpu) and
// causal_conv1d_ref (torch::conv1d with groups = channels and left padding).
#include "ftmamba/ops/causal_conv1d.h"

#include <ATen/Parallel.h>

#include "ftmamba/kernels/causal_conv1d_cpu.h"
#include "ftmamba/ops/cpu_kernel_types.h"
#include "ftmamba/ops/function_args.h"
#ifdef FTMAMBA_WITH_CUDA
#include "ftmamba/ops/causal_conv1d_cuda.h"
#include "ftmamba/ops/cuda_util.h"
#endif

namespace ftmamba::ops {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// x in Act, weight and bias in T (see with_cpu_kernel_types).
template <typename T, typename Act>
kernels::CausalConv1dParams<T, Act> make_params(const ConvInputs& in) {
  kernels::CausalConv1dParams<T, Act> p;
  p.batch = in.x.size(0);
  p.seqlen = in.x.size(1);
  p.channels = in.x.size(2);
  p.width = in.weight.size(1);
  p.x = activation_ptr<Act>(in.x);
  p.x_batch_stride = in.x.stride(0);
  p.x_l_stride = in.x.stride(1);
  p.weight = in.weight.data_ptr<T>();
  p.bias = in.bias.defined() ? in.bias.data_ptr<T>() : nullptr;
  p.silu = in.silu;
  p.num_threads = at::get_num_threads();
  return p;
}

// weight may also come as nn::Conv1d's (channels, 1, width); the kernel reads (channels, width).
Tensor weight_2d(const Tensor& weight) { return weight.dim() == 3 ? weight.squeeze(1) : weight; }

void check_shapes(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  TORCH_CHECK(x.dim() == 3, "causal_conv1d: x must be (batch, L, channels), got ", x.sizes());
  TORCH_CHECK(weight.dim() == 2 && weight.size(0) == x.size(2) && weight.size(1) >= 1,
              "causal_conv1d: weight must be (channels, width), got ", weight.sizes());
  TORCH_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == x.size(2)),
              "causal_conv1d: bias must be (channels)");
}

struct CausalConv1dFn : torch::autograd::Function<CausalConv1dFn> {
  // x in float64, float32 or bfloat16; weight and bias in float64 for float64 x, else float32.
  // bias arrives as an empty placeholder when absent (has_bias false): LibTorch 1.13's Function::apply reads
  // every tensor argument's device, so it cannot take an undefined one.
  static Tensor forward(AutogradContext* ctx, Tensor x, Tensor weight, Tensor bias, bool silu, bool has_bias) {
    const ConvInputs in{function_args::unit_last_stride(x), weight.contiguous(),
                        function_args::contiguous_or_undefined(function_args::undefined_unless(bias, has_bias)), silu};
    ctx->save_for_backward({in.x, in.weight, function_args::placeholder_if_undefined(in.bias, in.x)});
    ctx->saved_data["silu"] = silu;
    ctx->saved_data["has_bias"] = has_bias;
    Tensor out = torch::empty({x.size(0), x.size(1), x.size(2)}, x.options());  // (batch, L, channels)
    cpu_conv::forward_into(in, out);
    return out;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const ConvInputs in{saved[0], saved[1], ctx->saved_data["has_bias"].toBool() ? saved[2] : Tensor(),
                        ctx->saved_data["silu"].toBool()};
    if (!grads[0].defined()) return tensor_list(5);
    const ConvGradients g = cpu_conv::backward(in, grads[0]);
    return {g.dx, g.dweight, g.dbias, Tensor(), Tensor()};
  }
};

}  // namespace

Tensor causal_conv1d(const Tensor& x, const Tensor& weight_in, const Tensor& bias, bool silu) {
  const Tensor weight = weight_2d(weight_in);
  check_shapes(x, weight, bias);
  if (!x.device().is_cpu()) {
#ifdef FTMAMBA_WITH_CUDA
    // The CUDA kernel: x in its dtype (float32 / bfloat16 / float16), weight and bias in float32.
    if (x.is_cuda() && cuda_util::kernel_dtype(x.scalar_type()) && cuda_conv::supports_width(weight.size(1))) {
      return cuda_conv::causal_conv1d({x, function_args::cast_or_undefined(weight, torch::kFloat32),
                                       function_args::cast_or_undefined(bias, torch::kFloat32), silu});
    }
#endif
    return causal_conv1d_ref(x, weight, bias, silu);
  }
  // x, weight and bias in the kernel's dtypes (cpu_kernel_types.h); casts go through autograd.
  const auto st = x.scalar_type();
  const auto act = cpu_activation_dtype(st), param = cpu_parameter_dtype(st);
  const Tensor xc = function_args::cast_or_undefined(x, act);
  const Tensor b = function_args::placeholder_if_undefined(function_args::cast_or_undefined(bias, param), xc);
  Tensor y = CausalConv1dFn::apply(xc, function_args::cast_or_undefined(weight, param), b, silu, bias.defined());
  return act == st ? y : y.to(st);
}

namespace cpu_conv {

void forward_into(const ConvInputs& in, const Tensor& out) {
  TORCH_CHECK(out.is_contiguous() && out.sizes() == in.x.sizes() && out.scalar_type() == in.x.scalar_type(),
              "causal_conv1d: out must be contiguous, shaped and typed like x");
  with_cpu_kernel_types(in.x.scalar_type(), "causal_conv1d", [&]<typename T, typename Act>() {
    auto p = make_params<T, Act>(in);
    p.out = activation_ptr<Act>(out);
    kernels::causal_conv1d_fwd_cpu(p);
  });
}

ConvGradients backward(const ConvInputs& in, const Tensor& dout_in, const Tensor& dx_into) {
  const Tensor dout = dout_in.to(in.x.scalar_type()).contiguous();  // (batch, L, channels)
  TORCH_CHECK(!dx_into.defined() || (dx_into.sizes() == in.x.sizes() && dx_into.scalar_type() == in.x.scalar_type() &&
                                     dx_into.stride(2) == 1),
              "causal_conv1d: dx's target must be shaped and typed like x, with a unit last stride");
  ConvGradients r;
  r.dx = dx_into.defined() ? dx_into : torch::empty({in.x.size(0), in.x.size(1), in.x.size(2)}, in.x.options());
  r.dweight = torch::empty(in.weight.sizes(), in.weight.options());
  if (in.bias.defined()) r.dbias = torch::empty(in.bias.sizes(), in.bias.options());
  with_cpu_kernel_types(in.x.scalar_type(), "causal_conv1d", [&]<typename T, typename Act>() {
    const auto p = make_params<T, Act>(in);
    kernels::CausalConv1dGrads<T, Act> g;
    g.dout = activation_ptr<Act>(dout);
    g.dx = activation_ptr<Act>(r.dx);
    g.dx_batch_stride = r.dx.stride(0);
    g.dx_l_stride = r.dx.stride(1);
    g.dweight = r.dweight.data_ptr<T>();
    g.dbias = r.dbias.defined() ? r.dbias.data_ptr<T>() : nullptr;
    kernels::causal_conv1d_bwd_cpu(p, g);
  });
  return r;
}

}  // namespace cpu_conv

Tensor causal_conv1d_ref(const Tensor& x, const Tensor& weight_in, const Tensor& bias, bool silu) {
  const Tensor weight = weight_2d(weight_in);
  check_shapes(x, weight, bias);
  const int64_t L = x.size(1), channels = x.size(2), width = weight.size(1);
  // Pad width-1 on both sides and keep the first L outputs: output t sees inputs t-(width-1) .. t.
  Tensor y = torch::conv1d(x.transpose(1, 2), weight.unsqueeze(1), bias, /*stride=*/1, /*padding=*/width - 1,
                           /*dilation=*/1, /*groups=*/channels);  // (batch, channels, L + width - 1)
  y = y.slice(2, 0, L).transpose(1, 2);                           // (batch, L, channels)
  if (silu) y = torch::silu(y);
  return y.contiguous();
}

}  // namespace ftmamba::ops
