#include "ftmamba/nn/mamba.h"

#include <cmath>

#include "ftmamba/ops/causal_conv1d.h"
#include "ftmamba/ops/selective_scan.h"

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
  const int64_t di = cfg.d_inner();
  auto xz = in_proj(u);  // (batch, L, 2*d_inner)
  // x and z are strided views of xz: the kernels take any strides with a unit last stride.
  return out_proj(mix(xz.narrow(-1, 0, di), xz.narrow(-1, di, di)));  // (batch, L, d_model)
}

torch::Tensor MambaImpl::forward_last(const torch::Tensor& u) {
  const int64_t di = cfg.d_inner(), last = u.size(1) - 1;
  auto x = in_proj->forward_outputs(u, 0, di);                                  // (batch, L, d_inner)
  auto z_last = in_proj->forward_outputs(u.select(1, last), di, di);            // (batch, d_inner)
  auto y_last = mix(x, torch::Tensor()).select(1, last) * torch::silu(z_last);  // (batch, d_inner)
  return out_proj(y_last);                                                      // (batch, d_model)
}

torch::Tensor MambaImpl::time_steps(const torch::Tensor& u) {
  const int64_t di = cfg.d_inner(), r = cfg.rank();
  auto x = ops::causal_conv1d(in_proj->forward_outputs(u, 0, di), conv1d->weight.view({di, cfg.d_conv}), conv1d->bias,
                              /*silu=*/true);                                    // (batch, L, d_inner)
  auto delta = dt_proj->forward_without_bias(x_proj->forward_outputs(x, 0, r));  // (batch, L, d_inner)
  return torch::softplus(delta + dt_proj->bias);
}

torch::Tensor MambaImpl::mix(const torch::Tensor& x_in, const torch::Tensor& z) {
  const int64_t di = cfg.d_inner(), n = cfg.d_state, r = cfg.rank();
  auto x = ops::causal_conv1d(x_in, conv1d->weight.view({di, cfg.d_conv}), conv1d->bias, /*silu=*/true);
  auto x_dbl = x_proj(x);                          // (batch, L, rank + 2N)
  auto dt = x_dbl.narrow(-1, 0, r);                // (batch, L, rank)
  auto B = x_dbl.narrow(-1, r, n);                 // (batch, L, N)
  auto C = x_dbl.narrow(-1, r + n, n);             // (batch, L, N)
  auto delta = dt_proj->forward_without_bias(dt);  // (batch, L, d_inner); the bias is applied in the scan
  // A, D and the bias stay in the parameters' dtype (float32 in training): the scan casts as its kernel needs.
  auto A = -torch::exp(A_log);  // (d_inner, N), negative: the recurrence is stable
  return ops::selective_scan(x, delta, A, B, C, D, z, dt_proj->bias, /*delta_softplus=*/true);  // (batch, L, d_inner)
}

}  // namespace ftmamba::nn
