// defines: selective_scan (torch::autograd::Function over the fused CPU kernel in kernels/selective_scan_cpu)
// and selective_scan_ref (the same recurrence in plain LibTorch ops, token-major).
#include "ftmamba/ops/selective_scan.h"

#include <ATen/Parallel.h>

#include <vector>

#include "ftmamba/kernels/selective_scan_cpu.h"
#include "ftmamba/ops/cpu_kernel_types.h"
#include "ftmamba/ops/function_args.h"
#ifdef FTMAMBA_WITH_CUDA
#include "ftmamba/kernels/selective_scan_cuda.h"
#include "ftmamba/ops/cuda_util.h"
#include "ftmamba/ops/selective_scan_cuda.h"
#endif

namespace ftmamba::ops {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;
using namespace function_args;
constexpr int64_t kHasD = kScanHasD, kHasZ = kScanHasZ, kHasBias = kScanHasBias;

template <typename T>
const T* ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data_ptr<T>() : nullptr;
}

// Activations (u, delta, B, C, z) in Act, parameters (A, D, delta_bias) in T; see with_cpu_kernel_types.
template <typename T, typename Act>
kernels::SelectiveScanParams<T, Act> make_params(const ScanInputs& in, const Tensor& dt_proj_t) {
  const Tensor &u = in.u, &delta = in.delta, &B = in.B, &C = in.C, &z = in.z;
  kernels::SelectiveScanParams<T, Act> p;
  p.batch = u.size(0);
  p.seqlen = u.size(1);
  p.dim = u.size(2);
  p.dstate = in.A.size(1);
  p.u = activation_ptr<Act>(u);
  p.u_batch_stride = u.stride(0);
  p.u_l_stride = u.stride(1);
  if (in.dt_low.defined()) {
    p.dt_low = activation_ptr<Act>(in.dt_low);
    p.dt_low_batch_stride = in.dt_low.stride(0);
    p.dt_low_l_stride = in.dt_low.stride(1);
    p.dt_rank = in.dt_low.size(2);
    p.dt_proj_t = dt_proj_t.data_ptr<T>();
    p.dt_proj_t_stride = dt_proj_t.stride(0);
  } else {
    p.delta = activation_ptr<Act>(delta);
    p.delta_batch_stride = delta.stride(0);
    p.delta_l_stride = delta.stride(1);
  }
  p.A = in.A.data_ptr<T>();
  p.B = activation_ptr<Act>(B);
  p.B_batch_stride = B.stride(0);
  p.B_l_stride = B.stride(1);
  p.C = activation_ptr<Act>(C);
  p.C_batch_stride = C.stride(0);
  p.C_l_stride = C.stride(1);
  p.D = ptr_or_null<T>(in.D);
  if (z.defined()) {
    p.z = activation_ptr<Act>(z);
    p.z_batch_stride = z.stride(0);
    p.z_l_stride = z.stride(1);
  }
  p.delta_bias = ptr_or_null<T>(in.delta_bias);
  p.delta_softplus = in.delta_softplus;
  p.num_threads = at::get_num_threads();
  return p;
}

void check_shapes(const Tensor& u, const Tensor& delta, const Tensor& A, const Tensor& B, const Tensor& C,
                  const Tensor& D, const Tensor& z, const Tensor& delta_bias) {
  TORCH_CHECK(u.dim() == 3, "selective_scan: u must be (batch, L, d_inner), got ", u.sizes());
  const int64_t batch = u.size(0), L = u.size(1), dim = u.size(2);
  TORCH_CHECK(delta.sizes() == u.sizes(), "selective_scan: delta ", delta.sizes(), " != u ", u.sizes());
  TORCH_CHECK(A.dim() == 2 && A.size(0) == dim && A.size(1) >= 1, "selective_scan: A must be (d_inner, d_state), got ",
              A.sizes());
  const int64_t N = A.size(1);
  for (const Tensor* t : {&B, &C}) {
    TORCH_CHECK(t->dim() == 3 && t->size(0) == batch && t->size(1) == L && t->size(2) == N,
                "selective_scan: B and C must be (batch, L, d_state), got ", t->sizes());
  }
  TORCH_CHECK(!D.defined() || (D.dim() == 1 && D.size(0) == dim), "selective_scan: D must be (d_inner)");
  TORCH_CHECK(!delta_bias.defined() || (delta_bias.dim() == 1 && delta_bias.size(0) == dim),
              "selective_scan: delta_bias must be (d_inner)");
  TORCH_CHECK(!z.defined() || z.sizes() == u.sizes(), "selective_scan: z ", z.sizes(), " != u ", u.sizes());
}

struct SelectiveScanFn : torch::autograd::Function<SelectiveScanFn> {
  // On the CPU. Activations (u, delta, B, C, z) share u's dtype: float64, float32 or bfloat16; the parameters
  // (A, D, delta_bias) are float64 with float64 activations, else float32. See selective_scan().
  static Tensor forward(AutogradContext* ctx, Tensor u, Tensor delta, Tensor A, Tensor B, Tensor C, Tensor D, Tensor z,
                        Tensor delta_bias, bool delta_softplus, int64_t present) {
    D = undefined_unless(D, present & kHasD);
    z = undefined_unless(z, present & kHasZ);
    delta_bias = undefined_unless(delta_bias, present & kHasBias);
    const ScanInputs in{
        unit_last_stride(u), unit_last_stride(delta),    A.contiguous(),      unit_last_stride(B),
        unit_last_stride(C), contiguous_or_undefined(D), unit_last_stride(z), contiguous_or_undefined(delta_bias),
        delta_softplus};
    ctx->save_for_backward({in.u, in.delta, in.A, in.B, in.C, placeholder_if_undefined(in.D, in.u),
                            placeholder_if_undefined(in.z, in.u), placeholder_if_undefined(in.delta_bias, in.u)});
    ctx->saved_data["delta_softplus"] = delta_softplus;
    ctx->saved_data["present"] = present;
    Tensor out = torch::empty({u.size(0), u.size(1), u.size(2)}, u.options());  // (batch, L, d_inner)
    cpu_scan::forward_into(in, out);
    return out;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const ScanInputs in = scan_inputs_from(ctx->get_saved_variables(), ctx->saved_data["delta_softplus"].toBool(),
                                           ctx->saved_data["present"].toInt());
    if (!grads[0].defined()) return tensor_list(10);
    const ScanGradients g = cpu_scan::backward(in, grads[0]);
    return {g.du, g.ddelta, g.dA, g.dB, g.dC, g.dD, g.dz, g.ddelta_bias, Tensor(), Tensor()};
  }
};

}  // namespace

Tensor selective_scan(const Tensor& u, const Tensor& delta, const Tensor& A, const Tensor& B, const Tensor& C,
                      const Tensor& D, const Tensor& z, const Tensor& delta_bias, bool delta_softplus) {
  check_shapes(u, delta, A, B, C, D, z, delta_bias);
  if (!u.device().is_cpu()) {
#ifdef FTMAMBA_WITH_CUDA
    // The CUDA kernel: activations in u's dtype (float32 / bfloat16 / float16), parameters in float32.
    if (u.is_cuda() && cuda_util::kernel_dtype(u.scalar_type()) && A.size(1) <= kernels::kScanMaxDstate) {
      const auto act = [st = u.scalar_type()](const Tensor& t) { return cast_or_undefined(t, st); };
      const auto f32 = [](const Tensor& t) { return cast_or_undefined(t, torch::kFloat32); };
      return cuda_scan::selective_scan(
          {u, act(delta), f32(A), act(B), act(C), f32(D), act(z), f32(delta_bias), delta_softplus});
    }
#endif
    // No kernel for this device or dtype (float64 on a GPU): the reference keeps the model running.
    return selective_scan_ref(u, delta, A, B, C, D, z, delta_bias, delta_softplus);
  }
  // Activations and parameters in the kernel's dtypes (cpu_kernel_types.h: bfloat16 activations stay so, with
  // float32 arithmetic and state). Casts go through autograd, so A_log / D kept in fp32 still receive fp32
  // gradients.
  const auto st = u.scalar_type();
  const auto act_type = cpu_activation_dtype(st), param_type = cpu_parameter_dtype(st);
  const auto act = [act_type](const Tensor& t) { return cast_or_undefined(t, act_type); };
  const auto param = [param_type](const Tensor& t) { return cast_or_undefined(t, param_type); };
  const Tensor uc = act(u);
  const int64_t present = (D.defined() ? kHasD : 0) | (z.defined() ? kHasZ : 0) | (delta_bias.defined() ? kHasBias : 0);
  Tensor y = SelectiveScanFn::apply(uc, act(delta), param(A), act(B), act(C), placeholder_if_undefined(param(D), uc),
                                    placeholder_if_undefined(act(z), uc),
                                    placeholder_if_undefined(param(delta_bias), uc), delta_softplus, present);
  return act_type == st ? y : y.to(st);
}

ScanInputs scan_inputs_from(const std::vector<Tensor>& t, bool delta_softplus, int64_t present) {
  return ScanInputs{t[0],
                    t[1],
                    t[2],
                    t[3],
                    t[4],
                    undefined_unless(t[5], present & kHasD),
                    undefined_unless(t[6], present & kHasZ),
                    undefined_unless(t[7], present & kHasBias),
                    delta_softplus};
}

namespace cpu_scan {

// dt_proj as the kernel reads it, (rank, d_inner) contiguous, when it runs inside the scan.
Tensor dt_proj_rows(const ScanInputs& in) {
  if (!in.dt_low.defined()) return Tensor();
  const int64_t R = in.dt_low.size(2);
  TORCH_CHECK(in.dt_low.dim() == 3 && in.dt_low.size(0) == in.u.size(0) && in.dt_low.size(1) == in.u.size(1) &&
                  in.dt_low.stride(2) == 1 && in.dt_low.scalar_type() == in.u.scalar_type(),
              "selective_scan: dt_low must be (batch, L, rank) in u's dtype with a unit last stride");
  TORCH_CHECK(in.dt_proj.dim() == 2 && in.dt_proj.size(0) == in.u.size(2) && in.dt_proj.size(1) == R &&
                  in.dt_proj.scalar_type() == in.A.scalar_type(),
              "selective_scan: dt_proj must be (d_inner, rank) in the parameters' dtype");
  return in.dt_proj.t().contiguous();
}

void forward_into(const ScanInputs& in, const Tensor& out) {
  TORCH_CHECK(out.is_contiguous() && out.sizes() == in.u.sizes() && out.scalar_type() == in.u.scalar_type(),
              "selective_scan: out must be contiguous, shaped and typed like u");
  const Tensor dt_proj_t = dt_proj_rows(in);
  with_cpu_kernel_types(in.u.scalar_type(), "selective_scan", [&]<typename T, typename Act>() {
    auto p = make_params<T, Act>(in, dt_proj_t);
    p.out = activation_ptr<Act>(out);
    kernels::selective_scan_fwd_cpu(p);
  });
}

ScanGradients backward(const ScanInputs& in, const Tensor& dout_in, const Tensor& dz_into) {
  const Tensor dout = dout_in.to(in.u.scalar_type()).contiguous();  // (batch, L, d_inner)
  // Activation gradients in the activations' dtype; dA, dB, dC, dD and d delta_bias (sums over channels or
  // tokens) in the parameters' dtype, dB and dC cast to B's and C's at the end.
  const auto act = in.u.options(), param = in.A.options();
  const int64_t batch = in.u.size(0), L = in.u.size(1), dim = in.u.size(2), N = in.A.size(1);
  const Tensor dt_proj_t = dt_proj_rows(in);
  ScanGradients r;
  r.du = torch::empty({batch, L, dim}, act);
  Tensor d_dt_proj_t;
  if (in.dt_low.defined()) {
    r.d_dt_low = torch::empty({batch, L, dt_proj_t.size(0)}, param);
    d_dt_proj_t = torch::empty(dt_proj_t.sizes(), param);
  } else {
    r.ddelta = torch::empty({batch, L, dim}, act);
  }
  r.dA = torch::empty({dim, N}, param);
  Tensor dB = torch::empty({batch, L, N}, param), dC = torch::empty({batch, L, N}, param);
  if (in.D.defined()) r.dD = torch::empty({dim}, param);
  if (in.z.defined()) {
    TORCH_CHECK(!dz_into.defined() || (dz_into.sizes() == in.u.sizes() && dz_into.scalar_type() == in.u.scalar_type() &&
                                       dz_into.stride(2) == 1),
                "selective_scan: dz's target must be shaped and typed like u, with a unit last stride");
    r.dz = dz_into.defined() ? dz_into : torch::empty({batch, L, dim}, act);
  }
  if (in.delta_bias.defined()) r.ddelta_bias = torch::empty({dim}, param);
  with_cpu_kernel_types(in.u.scalar_type(), "selective_scan", [&]<typename T, typename Act>() {
    const auto p = make_params<T, Act>(in, dt_proj_t);
    kernels::SelectiveScanGrads<T, Act> g;
    g.dout = activation_ptr<Act>(dout);
    g.du = activation_ptr<Act>(r.du);
    if (r.ddelta.defined()) {
      g.ddelta = activation_ptr<Act>(r.ddelta);
    } else {
      g.d_dt_low = r.d_dt_low.data_ptr<T>();
      g.d_dt_proj_t = d_dt_proj_t.data_ptr<T>();
    }
    g.dA = r.dA.data_ptr<T>();
    g.dB = dB.data_ptr<T>();
    g.dC = dC.data_ptr<T>();
    g.dD = r.dD.defined() ? r.dD.data_ptr<T>() : nullptr;
    if (r.dz.defined()) {
      g.dz = activation_ptr<Act>(r.dz);
      g.dz_batch_stride = r.dz.stride(0);
      g.dz_l_stride = r.dz.stride(1);
    }
    g.ddelta_bias = r.ddelta_bias.defined() ? r.ddelta_bias.data_ptr<T>() : nullptr;
    kernels::selective_scan_bwd_cpu(p, g);
  });
  r.dB = dB.to(in.B.scalar_type());
  r.dC = dC.to(in.C.scalar_type());
  if (d_dt_proj_t.defined()) r.d_dt_proj = d_dt_proj_t.t();
  return r;
}

}  // namespace cpu_scan

Tensor selective_scan_ref(const Tensor& u, const Tensor& delta, const Tensor& A, const Tensor& B, const Tensor& C,
                          const Tensor& D, const Tensor& z, const Tensor& delta_bias, bool delta_softplus) {
  check_shapes(u, delta, A, B, C, D, z, delta_bias);
  const int64_t batch = u.size(0), L = u.size(1), dim = u.size(2), N = A.size(1);
  Tensor dt = delta_bias.defined() ? delta + delta_bias : delta;    // (batch, L, d_inner)
  if (delta_softplus) dt = torch::softplus(dt);                     // threshold 20, as in mamba_ssm
  const Tensor deltaA = torch::exp(dt.unsqueeze(-1) * A);           // (batch, L, d_inner, N)
  const Tensor deltaB_u = (dt * u).unsqueeze(-1) * B.unsqueeze(2);  // (batch, L, d_inner, N)
  Tensor h = torch::zeros({batch, dim, N}, u.options());            // (batch, d_inner, N)
  std::vector<Tensor> ys;
  ys.reserve(static_cast<size_t>(L));
  for (int64_t t = 0; t < L; ++t) {
    h = deltaA.select(1, t) * h + deltaB_u.select(1, t);
    ys.push_back(torch::einsum("bdn,bn->bd", {h, C.select(1, t)}));  // (batch, d_inner)
  }
  Tensor y = L > 0 ? torch::stack(ys, 1) : torch::zeros({batch, 0, dim}, u.options());  // (batch, L, d_inner)
  if (D.defined()) y = y + u * D;
  if (z.defined()) y = y * torch::silu(z);
  return y;
}

}  // namespace ftmamba::ops
