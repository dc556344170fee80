#include "ftmamba/nn/mamba.h"

#include <cmath>

#include "ftmamba/ops/causal_conv1d.h"
#include "ftmamba/ops/decode_linear.h"
#include "ftmamba/ops/mamba_mix.h"
#include "ftmamba/ops/mamba_step.h"
#include "ftmamba/ops/selective_scan.h"
#include "ftmamba/ops/selective_scan_state.h"
#include "ftmamba/ops/split_last.h"

namespace ftmamba::nn {

MambaImpl::MambaImpl(const MambaConfig& c) : cfg(c) {
  const int64_t di = cfg.d_inner(), n = cfg.d_state, r = cfg.rank();
  in_proj = register_module("in_proj", Projection(cfg.d_model, 2 * di, false));
  conv1d =
      register_module("conv1d", torch::nn::Conv1d(torch::nn::Conv1dOptions(di, di, cfg.d_conv).groups(di).bias(true)));
  x_proj = register_module("x_proj", Projection(di, r + 2 * n, false));
  dt_proj = register_module("dt_proj", Projection(r, di, true));
  out_proj = register_module("out_proj", Projection(di, cfg.d_model, false));

  torch::NoGradGuard no_grad;
  // dt_proj: weight U(+-rank^-0.5) keeps the variance of dt at init; the bias is softplus^-1 of
  // dt ~ exp(U[log dt_min, log dt_max]) so that initial time steps span two decades.
  const double w = 1.0 / std::sqrt(static_cast<double>(r));
  dt_proj->weight.uniform_(-w, w);
  auto dt = torch::exp(torch::rand({di}) * (std::log(cfg.dt_max) - std::log(cfg.dt_min)) + std::log(cfg.dt_min))
                .clamp_min(cfg.dt_init_floor);
  dt_proj->bias.copy_(dt + torch::log(-torch::expm1(-dt)));
  // S4D-real initialisation: A[d, n] = -(n + 1).
  A_log = register_parameter("A_log", torch::log(torch::arange(1, n + 1, torch::kFloat32)).repeat({di, 1}));
  D = register_parameter("D", torch::ones({di}));
}

torch::Tensor MambaImpl::forward(const torch::Tensor& u) {
  return out_proj(mix(in_proj(u), /*gated=*/true));  // (batch, L, d_model)
}

torch::Tensor MambaImpl::forward_last(const torch::Tensor& u) {
  const int64_t di = cfg.d_inner(), last = u.size(1) - 1;
  auto x = in_proj->forward_outputs(u, 0, di);                                  // (batch, L, d_inner)
  auto z_last = in_proj->forward_outputs(u.select(1, last), di, di);            // (batch, d_inner)
  auto y_last = mix(x, /*gated=*/false).select(1, last) * torch::silu(z_last);  // (batch, d_inner)
  return out_proj(y_last);                                                      // (batch, d_model)
}

torch::Tensor MambaImpl::forward_with_state(const torch::Tensor& u, MambaState& state) {
  const int64_t di = cfg.d_inner(), L = u.size(1), keep = cfg.d_conv - 1;
  auto xz = in_proj(u);  // (batch, L, 2*d_inner)
  const auto x_in = xz.narrow(-1, 0, di);
  // The conv's window: the last d_conv - 1 inputs, zeros in front when the prompt is shorter.
  auto window = torch::zeros({u.size(0), keep, di}, x_in.options());
  const int64_t have = std::min(keep, L);
  window.narrow(1, keep - have, have).copy_(x_in.narrow(1, L - have, have));
  state.conv = window;
  return out_proj(mix(xz, /*gated=*/true, &state.ssm));  // (batch, L, d_model)
}

torch::Tensor MambaImpl::step(const torch::Tensor& u_t, MambaState& state) {
  return step_from_in_proj(in_proj->forward_rows(u_t), state);  // in_proj: (batch, 2*d_inner)
}

torch::Tensor MambaImpl::step_from_in_proj(const torch::Tensor& xz, MambaState& state) {
  const int64_t di = cfg.d_inner(), r = cfg.rank();
  const auto x_in = xz.narrow(-1, 0, di), z = xz.narrow(-1, di, di);  // (batch, d_inner)
  // conv1d's weight (d_inner, 1, d_conv) against the window, oldest first, as the causal conv pairs them.
  const auto conv_w = conv1d->weight.view({di, cfg.d_conv});
  ops::SsmStepInputs in{{}, {}, z, {}, {}, dt_proj->bias, A_log, D};
  if (x_proj->has_lora()) {  // the adapter reads the conv's output: the conv runs on its own
    in.x = ops::conv_step(x_in, state.conv, conv_w, conv1d->bias);
    in.x_dbl = x_proj->forward_rows(in.x);
  } else {  // the conv's output is x_proj's prologue, and the SSM step's; the step advances the window
    in.x_dbl = ops::conv_linear(x_in, state.conv, conv_w, conv1d->bias, x_proj->weight);
    in.x_in = x_in;
    in.conv_state = &state.conv;
    in.conv_weight = conv_w;
    in.conv_bias = conv1d->bias;
  }                           // x_dbl (batch, rank + 2N): dt | B | C
  if (dt_proj->has_lora()) {  // the adapter's update is LibTorch's: dt_proj runs outside the step's kernel
    in.delta = dt_proj->forward_rows_without_bias(in.x_dbl.narrow(-1, 0, r));
  } else {
    in.dt_weight = dt_proj->weight;
  }
  const auto y = ops::ssm_step(in, state.ssm);  // (batch, d_inner)
  return out_proj->forward_rows(y);             // (batch, d_model)
}

torch::Tensor MambaImpl::time_steps(const torch::Tensor& u) {
  const int64_t di = cfg.d_inner(), r = cfg.rank();
  auto x = ops::causal_conv1d(in_proj->forward_outputs(u, 0, di), conv1d->weight.view({di, cfg.d_conv}), conv1d->bias,
                              /*silu=*/true);                                    // (batch, L, d_inner)
  auto delta = dt_proj->forward_without_bias(x_proj->forward_outputs(x, 0, r));  // (batch, L, d_inner)
  return torch::softplus(delta + dt_proj->bias);
}

torch::Tensor MambaImpl::mix(const torch::Tensor& xz, bool gated, torch::Tensor* last_state) {
  const int64_t di = cfg.d_inner(), n = cfg.d_state, r = cfg.rank();
  const auto conv_w = conv1d->weight.view({di, cfg.d_conv});
  auto A = -torch::exp(A_log);  // (d_inner, N), negative: the recurrence is stable
  if (!last_state) {
    // An adapter on x_proj or dt_proj goes in as the weight it applies, W + (alpha / rank) B A.
    const torch::Tensor xw = x_proj->applied_weight(), dw = dt_proj->applied_weight();
    if (xw.defined() && dw.defined())
      return ops::mamba_mix(xz, {conv_w, conv1d->bias, xw, dw, dt_proj->bias, A, D}, gated);
  }
  // x and z are strided views of in_proj's (batch, L, 2*d_inner): the kernels take any strides with a unit last
  // stride.
  const auto parts = gated ? ops::split_last(xz, {di, di}) : std::vector<torch::Tensor>{xz};
  const torch::Tensor z = gated ? parts[1] : torch::Tensor();
  auto x = ops::causal_conv1d(parts[0], conv_w, conv1d->bias, /*silu=*/true);
  const auto x_dbl = ops::split_last(x_proj(x), {r, n, n});  // (batch, L, rank + 2N) as dt | B | C
  const auto &dt = x_dbl[0], &B = x_dbl[1], &C = x_dbl[2];   // (batch, L, rank), (batch, L, N), (batch, L, N)
  auto delta = dt_proj->forward_without_bias(dt);            // (batch, L, d_inner); the bias is applied in the scan
  // A, D and the bias stay in the parameters' dtype (float32 in training): the scan casts as its kernel needs.
  if (last_state) *last_state = ops::selective_scan_last_state(x, delta, A, B, dt_proj->bias, /*delta_softplus=*/true);
  return ops::selective_scan(x, delta, A, B, C, D, z, dt_proj->bias, /*delta_softplus=*/true);  // (batch, L, d_inner)
}

}  // namespace ftmamba::nn
