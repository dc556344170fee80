// defines: conv_step, ssm_step and their LibTorch references (see mamba_step.h).
#include "ftmamba/ops/mamba_step.h"

#include "ftmamba/ops/decode_linear.h"

#ifdef FTMAMBA_WITH_CUDA
#include "ftmamba/kernels/causal_conv1d_cuda.h"
#include "ftmamba/kernels/mamba_step_cuda.h"
#include "ftmamba/ops/cuda_util.h"
#endif

namespace ftmamba::ops {
namespace {

// The new window's last width - 1 inputs replace conv_state's (which stays put: the kernel's layout).
void keep_window(torch::Tensor& conv_state, const torch::Tensor& window) {
  conv_state.copy_(window.narrow(1, 1, window.size(1) - 1));
}

}  // namespace

torch::Tensor conv_step_reference(const torch::Tensor& x_in, torch::Tensor& conv_state, const torch::Tensor& weight,
                                  const torch::Tensor& bias) {
  if (conv_state.scalar_type() != x_in.scalar_type()) conv_state = conv_state.to(x_in.scalar_type());
  const auto window = torch::cat({conv_state, x_in.unsqueeze(1)}, 1);  // (batch, width, channels)
  auto pre = (window.to(weight.scalar_type()) * weight.t()).sum(1);    // (batch, channels)
  if (bias.defined()) pre = pre + bias;
  keep_window(conv_state, window);
  return torch::silu(pre).to(x_in.scalar_type());
}

torch::Tensor ssm_step_reference(const SsmStepInputs& in, torch::Tensor& state) {
  if (!in.x.defined()) {
    SsmStepInputs with_x = in;
    with_x.x = conv_step_reference(in.x_in, *in.conv_state, in.conv_weight, in.conv_bias);
    with_x.conv_state = nullptr;
    return ssm_step_reference(with_x, state);
  }
  const auto f = state.scalar_type();
  const int64_t rank = in.x_dbl.size(1) - 2 * state.size(2), n = state.size(2);
  const auto parts = in.x_dbl.split_with_sizes({rank, n, n}, 1);  // dt | B | C
  const auto delta_raw = in.dt_weight.defined()
                             ? linear_rows_reference(parts[0].to(in.dt_weight.scalar_type()), in.dt_weight)
                             : in.delta;                                   // (batch, d_inner)
  const auto delta = torch::softplus(delta_raw.to(f) + in.dt_bias.to(f));  // (batch, d_inner)
  const auto A = -torch::exp(in.A_log.to(f));                              // (d_inner, d_state)
  const auto x = in.x.to(f);
  state.copy_(torch::exp(delta.unsqueeze(-1) * A) * state +
              (delta * x).unsqueeze(-1) * parts[1].to(f).unsqueeze(1));  // (batch, d_inner, d_state)
  const auto y = (state * parts[2].to(f).unsqueeze(1)).sum(-1) + in.D.to(f) * x;
  return (y * torch::silu(in.z.to(f))).to(in.x.scalar_type());
}

torch::Tensor conv_step(const torch::Tensor& x_in, torch::Tensor& conv_state, const torch::Tensor& weight,
                        const torch::Tensor& bias) {
#ifdef FTMAMBA_WITH_CUDA
  const int64_t width = weight.size(1);
  if (x_in.is_cuda() && cuda_util::kernel_dtype(x_in.scalar_type()) && cuda_util::rows_with_unit_stride(x_in) &&
      width <= kernels::kConvMaxWidth && cuda_util::contiguous_float32(weight) &&
      cuda_util::float32_or_undefined(bias) && (!bias.defined() || bias.is_contiguous())) {
    if (!conv_state.is_contiguous() || conv_state.scalar_type() != x_in.scalar_type())
      conv_state = conv_state.to(x_in.scalar_type()).contiguous();
    auto out = torch::empty({x_in.size(0), x_in.size(1)}, x_in.options());
    kernels::ConvStepCudaParams p;
    p.batch = x_in.size(0);
    p.channels = x_in.size(1);
    p.width = width;
    p.dtype = cuda_util::dtype_of(x_in, "conv step");
    p.x_in = x_in.data_ptr();
    p.x_stride = x_in.stride(0);
    p.conv_state = conv_state.data_ptr();
    p.weight = weight.data_ptr<float>();
    p.bias = bias.defined() ? bias.data_ptr<float>() : nullptr;
    p.out = out.data_ptr();
    p.stream = cuda_util::stream_for(x_in);
    kernels::conv_step_cuda(p);
    return out;
  }
#endif
  return conv_step_reference(x_in, conv_state, weight, bias);
}

torch::Tensor ssm_step(const SsmStepInputs& in, torch::Tensor& state) {
#ifdef FTMAMBA_WITH_CUDA
  const bool with_conv = !in.x.defined();
  const auto& x = with_conv ? in.x_in : in.x;  // what the output's dtype and device follow
  const auto dtype = x.scalar_type();
  const bool weight_ok = in.dt_weight.defined()
                             ? in.dt_weight.is_contiguous() && cuda_util::kernel_dtype(in.dt_weight.scalar_type())
                             : in.delta.is_contiguous() && in.delta.scalar_type() == dtype;
  const int64_t width = with_conv && in.conv_weight.dim() == 2 ? in.conv_weight.size(1) : 0;
  const bool conv_ok =
      !with_conv || (cuda_util::rows_with_unit_stride(in.x_in) && in.conv_state->is_contiguous() &&
                     in.conv_state->scalar_type() == dtype && width >= 1 && width <= kernels::kConvMaxWidth &&
                     cuda_util::contiguous_float32(in.conv_weight) &&
                     (!in.conv_bias.defined() || cuda_util::contiguous_float32(in.conv_bias)));
  if (x.is_cuda() && cuda_util::kernel_dtype(dtype) && (with_conv || x.is_contiguous()) && conv_ok && weight_ok &&
      in.x_dbl.scalar_type() == dtype && cuda_util::rows_with_unit_stride(in.x_dbl) && in.z.scalar_type() == dtype &&
      cuda_util::rows_with_unit_stride(in.z) && cuda_util::contiguous_float32(in.dt_bias) &&
      cuda_util::contiguous_float32(in.A_log) && cuda_util::contiguous_float32(in.D) &&
      cuda_util::contiguous_float32(state)) {
    auto out = torch::empty({x.size(0), x.size(1)}, x.options());
    kernels::SsmStepCudaParams p;
    p.batch = x.size(0);
    p.channels = x.size(1);
    p.d_state = state.size(2);
    p.rank = in.x_dbl.size(1) - 2 * p.d_state;
    p.dtype = cuda_util::dtype_of(x, "SSM step");
    if (with_conv) {
      p.conv_x_in = in.x_in.data_ptr();
      p.conv_x_stride = in.x_in.stride(0);
      p.conv_state = in.conv_state->data_ptr();
      p.conv_weight = in.conv_weight.data_ptr<float>();
      p.conv_bias = in.conv_bias.defined() ? in.conv_bias.data_ptr<float>() : nullptr;
      p.conv_width = width;
    } else {
      p.x = in.x.data_ptr();
    }
    p.x_dbl = in.x_dbl.data_ptr();
    p.x_dbl_stride = in.x_dbl.stride(0);
    p.z = in.z.data_ptr();
    p.z_stride = in.z.stride(0);
    if (in.dt_weight.defined()) {
      p.dt_weight = in.dt_weight.data_ptr();
      p.dt_weight_dtype = cuda_util::dtype_of(in.dt_weight, "SSM step");
    } else {
      p.delta = in.delta.data_ptr();
    }
    p.dt_bias = in.dt_bias.data_ptr<float>();
    p.A_log = in.A_log.data_ptr<float>();
    p.D = in.D.data_ptr<float>();
    p.state = state.data_ptr<float>();
    p.out = out.data_ptr();
    p.stream = cuda_util::stream_for(x);
    kernels::ssm_step_cuda(p);
    return out;
  }
#endif
  return ssm_step_reference(in, state);
}

}  // namespace ftmamba::ops
