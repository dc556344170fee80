// defines: mamba_mix (one autograd node over the conv, x_proj, dt_proj and the scan) and mamba_mix_reference.
#include "ftmamba/ops/mamba_mix.h"

#include "ftmamba/ops/causal_conv1d.h"
#include "ftmamba/ops/cpu_kernel_types.h"
#include "ftmamba/ops/function_args.h"
#include "ftmamba/ops/selective_scan.h"
#ifdef FTMAMBA_WITH_CUDA
#include "ftmamba/kernels/selective_scan_cuda.h"
#include "ftmamba/ops/causal_conv1d_cuda.h"
#include "ftmamba/ops/cuda_util.h"
#include "ftmamba/ops/selective_scan_cuda.h"
#endif

namespace ftmamba::ops {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;
using namespace function_args;

constexpr int64_t kMixHasConvBias = 1, kMixHasD = 2;

// ---- the kernels, on the CPU or a GPU --------------------------------------------------------------------------

Tensor conv_forward(const ConvInputs& in) {
  Tensor out = torch::empty({in.x.size(0), in.x.size(1), in.x.size(2)}, in.x.options());  // (batch, L, d_inner)
#ifdef FTMAMBA_WITH_CUDA
  if (in.x.is_cuda()) {
    cuda_conv::forward_into(in, out);
    return out;
  }
#endif
  cpu_conv::forward_into(in, out);
  return out;
}

ConvGradients conv_backward(const ConvInputs& in, const Tensor& dout, const Tensor& dx_into) {
#ifdef FTMAMBA_WITH_CUDA
  if (in.x.is_cuda()) {  // the CUDA kernel writes a contiguous dx
    ConvGradients g = cuda_conv::backward(in, dout);
    g.dx = dx_into.copy_(g.dx);
    return g;
  }
#endif
  return cpu_conv::backward(in, dout, dx_into);
}

// states: the CUDA forward's chunk states, which its backward reads (undefined on the CPU, or without a backward).
Tensor scan_forward(const ScanInputs& in, const Tensor& states) {
  Tensor out = torch::empty({in.u.size(0), in.u.size(1), in.u.size(2)}, in.u.options());  // (batch, L, d_inner)
#ifdef FTMAMBA_WITH_CUDA
  if (in.u.is_cuda()) {
    cuda_scan::forward_into(in, out, states);
    return out;
  }
#endif
  (void)states;
  cpu_scan::forward_into(in, out);
  return out;
}

// The CUDA scan's backward starts each chunk of kernels::kScanChunk steps from the state the forward reached
// there. Kept from the forward, those states were (batch, L / 16, d_inner, d_state) float32, 8 KiB a token a
// layer at d_inner 2,048: more than all the layer's other activations together (xz, 8 KiB in bf16). The node
// keeps none and runs the forward's kernel again in the backward to write them, for one layer at a time (its
// output is dropped). Undefined on the CPU, whose backward recomputes from its own checkpoints, and for a
// sequence of one chunk, which needs none.
Tensor chunk_states_again(const ScanInputs& in) {
#ifdef FTMAMBA_WITH_CUDA
  if (in.u.is_cuda()) {
    Tensor states = cuda_scan::empty_saved_states(in);
    if (states.numel() > 0) scan_forward(in, states);
    return states;
  }
#endif
  (void)in;
  return Tensor();
}

ScanGradients scan_backward(const ScanInputs& in, const Tensor& states, const Tensor& dout, const Tensor& dz_into) {
#ifdef FTMAMBA_WITH_CUDA
  if (in.u.is_cuda()) {  // the CUDA kernel writes a contiguous dz
    ScanGradients g = cuda_scan::backward(in, states, dout);
    if (g.dz.defined()) g.dz = dz_into.copy_(g.dz);
    return g;
  }
#endif
  (void)states;
  return cpu_scan::backward(in, dout, dz_into);
}

// ---- the node --------------------------------------------------------------------------------------------------

// The conv's and the scan's inputs from xz and x_dbl, (batch, L, rank + 2 d_state) contiguous (the forward's, and
// the backward's second time); x, the conv's output, is made unless given. On the CPU, dt_proj runs inside the scan
// (ScanInputs::dt_low); on a GPU, delta = dt dt_proj^T is made here.
struct Mixed {
  ConvInputs conv;
  ScanInputs scan;
};

// The conv's inputs: the x half of xz (its first d_inner channels), SiLU after.
ConvInputs conv_inputs(const Tensor& xz, const Tensor& conv_w, const Tensor& conv_b) {
  return ConvInputs{unit_last_stride(xz.narrow(2, 0, conv_w.size(0))), conv_w, conv_b, /*silu=*/true};
}

Mixed mix_inputs(const Tensor& xz, const Tensor& conv_w, const Tensor& conv_b, const Tensor& dt_proj,
                 const Tensor& dt_bias, const Tensor& A, const Tensor& D, const Tensor& x_dbl, const Tensor& x,
                 bool gated) {
  const int64_t batch = xz.size(0), L = xz.size(1), di = dt_proj.size(0), R = dt_proj.size(1), N = A.size(1);
  Mixed m;
  m.conv = conv_inputs(xz, conv_w, conv_b);
  const Tensor u = x.defined() ? x : conv_forward(m.conv);  // (batch, L, d_inner)
  const Tensor dt = x_dbl.narrow(2, 0, R);                  // (batch, L, rank)
  m.scan = ScanInputs{u,
                      Tensor(),
                      A,
                      x_dbl.narrow(2, R, N),
                      x_dbl.narrow(2, R + N, N),
                      D,
                      gated ? unit_last_stride(xz.narrow(2, di, di)) : Tensor(),
                      dt_bias,
                      /*delta_softplus=*/true};
  if (xz.is_cpu()) {
    m.scan.dt_low = dt;
    m.scan.dt_proj = dt_proj;
  } else {
    m.scan.delta = at::mm(dt.reshape({-1, R}), dt_proj.t()).view({batch, L, di});
  }
  return m;
}

struct MambaMixFn : torch::autograd::Function<MambaMixFn> {
  // xz and x_proj in the activations' dtype; conv_w, conv_b, dt_bias, A and D in the parameters'; dt_proj in the
  // parameters' on the CPU (the scan's kernel applies it), in the activations' on a GPU.
  // conv_b and D arrive as empty placeholders when absent (present says which are real).
  static Tensor forward(AutogradContext* ctx, Tensor xz, Tensor conv_w, Tensor conv_b, Tensor x_proj, Tensor dt_proj,
                        Tensor dt_bias, Tensor A, Tensor D, bool gated, int64_t present) {
    // Autocast stays out: the inputs come in the dtypes it would give, and every product here is in xz's.
    const c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
    conv_w = conv_w.contiguous();
    conv_b = contiguous_or_undefined(undefined_unless(conv_b, present & kMixHasConvBias));
    D = contiguous_or_undefined(undefined_unless(D, present & kMixHasD));
    A = A.contiguous();
    dt_bias = dt_bias.contiguous();
    const int64_t batch = xz.size(0), L = xz.size(1), di = x_proj.size(1);
    const Tensor x = conv_forward(conv_inputs(xz, conv_w, conv_b));                              // (batch, L, d_inner)
    const Tensor x_dbl = at::mm(x.view({-1, di}), x_proj.t()).view({batch, L, x_proj.size(0)});  // dt | B | C
    const Mixed m = mix_inputs(xz, conv_w, conv_b, dt_proj, dt_bias, A, D, x_dbl, x, gated);
    Tensor y = scan_forward(m.scan, Tensor());  // no chunk states kept: the backward makes them again
    ctx->save_for_backward({xz, conv_w, placeholder_if_undefined(conv_b, xz), x_proj, dt_proj, dt_bias, A,
                            placeholder_if_undefined(D, xz), x_dbl});
    ctx->saved_data["gated"] = gated;
    ctx->saved_data["present"] = present;
    return y;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
    if (!grads[0].defined()) return tensor_list(10);
    const auto s = ctx->get_saved_variables();
    const bool gated = ctx->saved_data["gated"].toBool();
    const int64_t present = ctx->saved_data["present"].toInt();
    const Tensor &xz = s[0], &conv_w = s[1], &x_proj = s[3], &dt_proj = s[4], &dt_bias = s[5], &A = s[6], &x_dbl = s[8];
    const Tensor conv_b = undefined_unless(s[2], present & kMixHasConvBias),
                 D = undefined_unless(s[7], present & kMixHasD);
    const int64_t di = x_proj.size(1), R = dt_proj.size(1), N = A.size(1), rows = xz.size(0) * xz.size(1);

    // x and delta again, from xz and x_dbl.
    const Mixed m = mix_inputs(xz, conv_w, conv_b, dt_proj, dt_bias, A, D, x_dbl, Tensor(), gated);
    const Tensor states = chunk_states_again(m.scan);
    Tensor dxz = torch::empty(xz.sizes(), xz.options());  // (batch, L, 2 d_inner or d_inner), halves filled below
    const Tensor dy = grads[0].to(xz.scalar_type());
    const ScanGradients g = scan_backward(m.scan, states, dy, gated ? dxz.narrow(2, di, di) : Tensor());

    // x_dbl's gradient, d dt | dB | dC, with d dt = d delta dt_proj (from the scan's kernel on the CPU).
    Tensor dx_dbl = torch::empty({rows, R + 2 * N}, xz.options());
    Tensor d_dt_proj;  // (d_inner, rank)
    if (g.d_dt_low.defined()) {
      dx_dbl.narrow(1, 0, R).copy_(g.d_dt_low.view({rows, R}));
      if (ctx->needs_input_grad(4)) d_dt_proj = g.d_dt_proj;
    } else {
      const Tensor ddelta = g.ddelta.view({rows, di});
      dx_dbl.narrow(1, 0, R).copy_(at::mm(ddelta, dt_proj));
      if (ctx->needs_input_grad(4)) d_dt_proj = at::mm(ddelta.t(), x_dbl.view({rows, R + 2 * N}).narrow(1, 0, R));
    }
    dx_dbl.narrow(1, R, N).copy_(g.dB.view({rows, N}));
    dx_dbl.narrow(1, R + N, N).copy_(g.dC.view({rows, N}));
    const Tensor d_x_proj =
        ctx->needs_input_grad(3) ? at::mm(dx_dbl.t(), m.scan.u.view({rows, di})) : Tensor();  // (rank + 2N, d_inner)
    // x feeds the scan and x_proj: its gradient is their sum, added in place into the scan's.
    const Tensor du = g.du.view({rows, di}).addmm_(dx_dbl, x_proj);
    const ConvGradients cg = conv_backward(m.conv, du.view(g.du.sizes()), dxz.narrow(2, 0, di));
    return {dxz, cg.dweight, cg.dbias, d_x_proj, d_dt_proj, g.ddelta_bias, g.dA, g.dD, Tensor(), Tensor()};
  }
};

void check_shapes(const Tensor& xz, const MambaMixWeights& w, bool gated) {
  TORCH_CHECK(w.A.defined() && w.A.dim() == 2, "mamba_mix: A must be (d_inner, d_state)");
  const int64_t di = w.A.size(0), N = w.A.size(1);
  TORCH_CHECK(xz.dim() == 3 && xz.size(2) == (gated ? 2 : 1) * di, "mamba_mix: xz must be (batch, L, ",
              gated ? "2 " : "", "d_inner = ", di, "), got ", xz.sizes());
  TORCH_CHECK(w.dt_proj.dim() == 2 && w.dt_proj.size(0) == di, "mamba_mix: dt_proj must be (d_inner, rank)");
  const int64_t R = w.dt_proj.size(1);
  TORCH_CHECK(w.x_proj.dim() == 2 && w.x_proj.size(0) == R + 2 * N && w.x_proj.size(1) == di,
              "mamba_mix: x_proj must be (rank + 2 d_state, d_inner) = (", R + 2 * N, ", ", di, "), got ",
              w.x_proj.sizes());
  TORCH_CHECK(w.conv_weight.dim() == 2 && w.conv_weight.size(0) == di,
              "mamba_mix: conv_weight must be (d_inner, width)");
  for (const Tensor* t : {&w.conv_bias, &w.dt_bias, &w.D})
    TORCH_CHECK(!t->defined() || (t->dim() == 1 && t->size(0) == di), "mamba_mix: biases and D must be (d_inner)");
  TORCH_CHECK(w.dt_bias.defined(), "mamba_mix: dt_bias is required");
}

}  // namespace

Tensor mamba_mix(const Tensor& xz, const MambaMixWeights& w, bool gated) {
  check_shapes(xz, w, gated);
  const auto st = xz.scalar_type();
  torch::ScalarType act = st, param = torch::kFloat32;
  if (xz.is_cpu()) {
    act = cpu_activation_dtype(st);
    param = cpu_parameter_dtype(st);
  } else {
#ifdef FTMAMBA_WITH_CUDA
    const bool kernels = xz.is_cuda() && cuda_util::kernel_dtype(st) &&
                         cuda_conv::supports_width(w.conv_weight.size(1)) && w.A.size(1) <= kernels::kScanMaxDstate;
#else
    const bool kernels = false;
#endif
    if (!kernels) return mamba_mix_reference(xz, w, gated);  // no kernel for this device or dtype (float64 on a GPU)
  }
  // Casts go through autograd, so float32 parameters receive float32 gradients.
  const auto to_act = [act](const Tensor& t) { return cast_or_undefined(t, act); };
  const auto to_param = [param](const Tensor& t) { return cast_or_undefined(t, param); };
  const Tensor xzc = to_act(xz);
  const int64_t present = (w.conv_bias.defined() ? kMixHasConvBias : 0) | (w.D.defined() ? kMixHasD : 0);
  Tensor y =
      MambaMixFn::apply(xzc, to_param(w.conv_weight), placeholder_if_undefined(to_param(w.conv_bias), xzc),
                        to_act(w.x_proj), xz.is_cpu() ? to_param(w.dt_proj) : to_act(w.dt_proj), to_param(w.dt_bias),
                        to_param(w.A), placeholder_if_undefined(to_param(w.D), xzc), gated, present);
  return act == st ? y : y.to(st);
}

Tensor mamba_mix_reference(const Tensor& xz, const MambaMixWeights& w, bool gated) {
  check_shapes(xz, w, gated);
  const int64_t di = w.A.size(0), N = w.A.size(1), R = w.dt_proj.size(1);
  const Tensor x = causal_conv1d_ref(xz.narrow(2, 0, di), w.conv_weight, w.conv_bias, /*silu=*/true);
  const Tensor x_dbl = torch::linear(x, w.x_proj);  // (batch, L, rank + 2N)
  const Tensor delta = torch::linear(x_dbl.narrow(2, 0, R), w.dt_proj);
  return selective_scan_ref(x, delta, w.A, x_dbl.narrow(2, R, N), x_dbl.narrow(2, R + N, N), w.D,
                            gated ? xz.narrow(2, di, di) : Tensor(), w.dt_bias, /*delta_softplus=*/true);
}

}  // namespace ftmamba::ops
