// defines: the CUDA selective scan's ATen binding and autograd Function (see selective_scan_cuda.h).
#ifdef FTMAMBA_WITH_CUDA
#include "ftmamba/ops/selective_scan_cuda.h"

#include <c10/cuda/CUDAGuard.h>

#include <atomic>

#include "ftmamba/kernels/selective_scan_cuda.h"
#include "ftmamba/ops/cuda_util.h"
#include "ftmamba/ops/function_args.h"
#include "ftmamba/ops/selective_scan.h"

namespace ftmamba::ops::cuda_scan {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;
using namespace function_args;

std::atomic<int> g_forced_states_per_lane{0};
std::atomic<int64_t> g_forced_segments{0};
std::atomic<bool> g_forced_scalar_loads{false};
std::atomic<int> g_forced_backward_sums{0};
std::atomic<int64_t> g_forced_backward_segments{0};

void check_inputs(const ScanInputs& in) {
  const auto st = in.u.scalar_type();
  cuda_util::dtype_of(in.u, "selective_scan");
  for (const Tensor* t : {&in.delta, &in.B, &in.C, &in.z}) {
    if (!t->defined()) continue;
    TORCH_CHECK(t->scalar_type() == st, "selective_scan (CUDA): u, delta, z, B and C must share a dtype");
    TORCH_CHECK(t->device() == in.u.device(), "selective_scan (CUDA): inputs on different devices");
    TORCH_CHECK(t->size(-1) == 1 || t->stride(-1) == 1, "selective_scan (CUDA): needs a unit last-dim stride");
  }
  for (const Tensor* t : {&in.A, &in.D, &in.delta_bias}) {
    if (!t->defined()) continue;
    TORCH_CHECK(t->scalar_type() == torch::kFloat32 && t->is_contiguous() && t->device() == in.u.device(),
                "selective_scan (CUDA): A, D and delta_bias must be contiguous float32 on u's device");
  }
  TORCH_CHECK(in.A.size(1) <= kernels::kScanMaxDstate, "selective_scan (CUDA): d_state ", in.A.size(1), " > ",
              kernels::kScanMaxDstate);
}

kernels::SelectiveScanCudaParams make_params(const ScanInputs& in) {
  kernels::SelectiveScanCudaParams p;
  p.batch = in.u.size(0);
  p.seqlen = in.u.size(1);
  p.dim = in.u.size(2);
  p.dstate = in.A.size(1);
  p.dtype = cuda_util::dtype_of(in.u, "selective_scan");
  p.u = in.u.data_ptr();
  p.u_batch_stride = in.u.stride(0);
  p.u_l_stride = in.u.stride(1);
  p.delta = in.delta.data_ptr();
  p.delta_batch_stride = in.delta.stride(0);
  p.delta_l_stride = in.delta.stride(1);
  p.B = in.B.data_ptr();
  p.B_batch_stride = in.B.stride(0);
  p.B_l_stride = in.B.stride(1);
  p.C = in.C.data_ptr();
  p.C_batch_stride = in.C.stride(0);
  p.C_l_stride = in.C.stride(1);
  if (in.z.defined()) {
    p.z = in.z.data_ptr();
    p.z_batch_stride = in.z.stride(0);
    p.z_l_stride = in.z.stride(1);
  }
  p.A = in.A.data_ptr<float>();
  p.D = in.D.defined() ? in.D.data_ptr<float>() : nullptr;
  p.delta_bias = in.delta_bias.defined() ? in.delta_bias.data_ptr<float>() : nullptr;
  p.delta_softplus = in.delta_softplus;
  p.stream = cuda_util::stream_for(in.u);
  p.fwd_states_per_lane = g_forced_states_per_lane.load();
  p.fwd_segments = g_forced_segments.load();
  p.fwd_scalar_loads = g_forced_scalar_loads.load();
  p.bwd_sums = g_forced_backward_sums.load();
  p.bwd_segments = g_forced_backward_segments.load();
  return p;
}

float* float_ptr_or_null(const Tensor& t) { return t.defined() ? t.data_ptr<float>() : nullptr; }

struct SelectiveScanCudaFn : torch::autograd::Function<SelectiveScanCudaFn> {
  static Tensor forward(AutogradContext* ctx, Tensor u, Tensor delta, Tensor A, Tensor B, Tensor C, Tensor D, Tensor z,
                        Tensor delta_bias, bool delta_softplus, int64_t present) {
    const ScanInputs in = scan_inputs_from({u, delta, A, B, C, D, z, delta_bias}, delta_softplus, present);
    bool needs_backward = false;  // chunk states are written only when a backward may follow
    for (const Tensor* t : {&u, &delta, &A, &B, &C, &D, &z, &delta_bias}) needs_backward |= t->requires_grad();
    Tensor out = torch::empty({in.u.size(0), in.u.size(1), in.u.size(2)}, in.u.options());  // (batch, L, d_inner)
    const Tensor states = needs_backward ? empty_saved_states(in) : Tensor();
    forward_into(in, out, states);
    ctx->save_for_backward({u, delta, A, B, C, D, z, delta_bias, placeholder_if_undefined(states, A)});
    ctx->saved_data["delta_softplus"] = delta_softplus;
    ctx->saved_data["present"] = present;
    return out;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    const ScanInputs in =
        scan_inputs_from(saved, ctx->saved_data["delta_softplus"].toBool(), ctx->saved_data["present"].toInt());
    if (!grads[0].defined()) return tensor_list(10);
    const ScanGradients g = cuda_scan::backward(in, saved[8], grads[0]);
    return {g.du, g.ddelta, g.dA, g.dB, g.dC, g.dD, g.dz, g.ddelta_bias, Tensor(), Tensor()};
  }
};

}  // namespace

void force_forward_layout(const ForwardLayout& layout) {
  TORCH_CHECK(layout.states_per_lane == 0 || layout.states_per_lane == 2 || layout.states_per_lane == 4 ||
                  layout.states_per_lane == 16,
              "selective_scan (CUDA): states_per_lane must be 0, 2, 4 or 16");
  TORCH_CHECK(layout.segments >= 0, "selective_scan (CUDA): segments must be >= 0");
  g_forced_states_per_lane = layout.states_per_lane;
  g_forced_segments = layout.segments;
  g_forced_scalar_loads = layout.scalar_loads;
}

void force_backward_layout(const BackwardLayout& layout) {
  TORCH_CHECK(layout.sums == 0 || layout.sums == 1 || layout.sums == 4,
              "selective_scan (CUDA): the backward's sums must be 0, 1 or 4");
  TORCH_CHECK(layout.segments >= 0, "selective_scan (CUDA): the backward's segments must be >= 0");
  g_forced_backward_sums = layout.sums;
  g_forced_backward_segments = layout.segments;
}

Tensor empty_saved_states(const ScanInputs& in) {
  return torch::empty({in.u.size(0), kernels::scan_saved_states(in.u.size(1)), in.u.size(2), in.A.size(1)},
                      in.u.options().dtype(torch::kFloat32));
}

ScanBackwardBuffers empty_backward_buffers(const ScanInputs& in) {
  const int64_t batch = in.u.size(0), L = in.u.size(1), dim = in.u.size(2), N = in.A.size(1);
  const auto split = kernels::selective_scan_bwd_split(make_params(in));
  const auto act = in.u.options();
  const auto f32 = act.dtype(torch::kFloat32);
  ScanBackwardBuffers b;
  b.du = torch::empty({batch, L, dim}, act);
  b.ddelta = torch::empty({batch, L, dim}, act);
  if (in.z.defined()) b.dz = torch::empty({batch, L, dim}, act);
  b.dB_part = torch::empty({split.channel_groups, batch, L, N}, f32);
  b.dC_part = torch::empty({split.channel_groups, batch, L, N}, f32);
  const int64_t parts = split.param_partials();
  b.dA_part = torch::empty({parts, dim, N}, f32);
  if (in.D.defined()) b.dD_part = torch::empty({parts, dim}, f32);
  if (in.delta_bias.defined()) b.ddelta_bias_part = torch::empty({parts, dim}, f32);
  return b;
}

void forward_into(const ScanInputs& in, const Tensor& out, const Tensor& saved_states) {
  check_inputs(in);
  TORCH_CHECK(out.is_contiguous() && out.sizes() == in.u.sizes() && out.scalar_type() == in.u.scalar_type(),
              "selective_scan (CUDA): out must be contiguous, shaped and typed like u");
  const c10::cuda::CUDAGuard guard(in.u.device());
  auto p = make_params(in);
  p.out = out.data_ptr();
  p.saved_states = float_ptr_or_null(saved_states);
  Tensor workspace;  // long sequences at small batch are split into segments (kernels::ScanSegments)
  if (const int64_t n = kernels::selective_scan_fwd_workspace_floats(p); n > 0) {
    workspace = torch::empty({n}, in.u.options().dtype(torch::kFloat32));
    p.workspace = workspace.data_ptr<float>();
  }
  kernels::selective_scan_fwd_cuda(p);
}

void backward_into(const ScanInputs& in, const Tensor& saved_states, const Tensor& dout, const ScanBackwardBuffers& b) {
  check_inputs(in);
  TORCH_CHECK(dout.is_contiguous() && dout.sizes() == in.u.sizes() && dout.scalar_type() == in.u.scalar_type(),
              "selective_scan (CUDA): dout must be contiguous, shaped and typed like u");
  TORCH_CHECK(saved_states.defined() && saved_states.size(1) == kernels::scan_saved_states(in.u.size(1)),
              "selective_scan (CUDA): the backward needs the forward's saved chunk states");
  const c10::cuda::CUDAGuard guard(in.u.device());
  auto p = make_params(in);
  p.saved_states = saved_states.data_ptr<float>();
  const auto split = kernels::selective_scan_bwd_split(p);
  TORCH_CHECK(b.dB_part.size(0) == split.channel_groups && b.dA_part.size(0) == split.param_partials(),
              "selective_scan (CUDA): the backward buffers were made for another layout (empty_backward_buffers "
              "after force_backward_layout)");
  kernels::SelectiveScanCudaGrads g;
  g.dout = dout.data_ptr();
  g.du = b.du.data_ptr();
  g.ddelta = b.ddelta.data_ptr();
  g.dz = b.dz.defined() ? b.dz.data_ptr() : nullptr;
  g.dB_part = b.dB_part.data_ptr<float>();
  g.dC_part = b.dC_part.data_ptr<float>();
  g.dA_part = b.dA_part.data_ptr<float>();
  g.dD_part = float_ptr_or_null(b.dD_part);
  g.ddelta_bias_part = float_ptr_or_null(b.ddelta_bias_part);
  Tensor workspace;  // long sequences at small batch are split into segments (kernels::ScanBackwardSplit)
  if (const int64_t n = kernels::selective_scan_bwd_workspace_floats(p); n > 0) {
    workspace = torch::empty({n}, in.u.options().dtype(torch::kFloat32));
    p.workspace = workspace.data_ptr<float>();
  }
  kernels::selective_scan_bwd_cuda(p, g);
}

ScanGradients backward(const ScanInputs& in, const Tensor& saved_states, const Tensor& dout) {
  const ScanBackwardBuffers b = empty_backward_buffers(in);
  backward_into(in, saved_states, dout.to(in.u.scalar_type()).contiguous(), b);
  return reduce_partials(in, b);
}

ScanGradients reduce_partials(const ScanInputs& in, const ScanBackwardBuffers& b) {
  const int64_t batch = in.u.size(0), L = in.u.size(1), dim = in.u.size(2), N = in.A.size(1);
  const auto f32 = in.u.options().dtype(torch::kFloat32);
  ScanGradients g;
  g.du = b.du;
  g.ddelta = b.ddelta;
  g.dz = b.dz;
  g.dB = torch::empty({batch, L, N}, in.u.options());
  g.dC = torch::empty({batch, L, N}, in.u.options());
  g.dA = torch::empty({dim, N}, f32);
  if (b.dD_part.defined()) g.dD = torch::empty({dim}, f32);
  if (b.ddelta_bias_part.defined()) g.ddelta_bias = torch::empty({dim}, f32);
  const c10::cuda::CUDAGuard guard(in.u.device());
  kernels::ScanPartialSums s;
  s.split.channel_groups = b.dB_part.size(0);
  s.split.batch_groups = b.dA_part.size(0);  // every (segment, batch group) partial: seg.count stays 1 here
  s.batch = batch;
  s.seqlen = L;
  s.dim = dim;
  s.dstate = N;
  s.dtype = cuda_util::dtype_of(in.u, "selective_scan");
  s.dB_part = b.dB_part.data_ptr<float>();
  s.dC_part = b.dC_part.data_ptr<float>();
  s.dA_part = b.dA_part.data_ptr<float>();
  s.dD_part = float_ptr_or_null(b.dD_part);
  s.ddelta_bias_part = float_ptr_or_null(b.ddelta_bias_part);
  s.dB = g.dB.data_ptr();
  s.dC = g.dC.data_ptr();
  s.dA = g.dA.data_ptr<float>();
  s.dD = float_ptr_or_null(g.dD);
  s.ddelta_bias = float_ptr_or_null(g.ddelta_bias);
  s.stream = cuda_util::stream_for(in.u);
  kernels::selective_scan_sum_partials_cuda(s);
  return g;
}

// GCC 13 reports a false -Warray-bounds / -Wstringop-overflow inside LibTorch's Function::apply (a
// std::vector<bool>::reserve it inlines here), depending on what else this file inlines; the warnings are
// about library code, not ours.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#endif
Tensor selective_scan(const ScanInputs& in) {
  const Tensor u = unit_last_stride(in.u);
  const int64_t present = (in.D.defined() ? kScanHasD : 0) | (in.z.defined() ? kScanHasZ : 0) |
                          (in.delta_bias.defined() ? kScanHasBias : 0);
  return SelectiveScanCudaFn::apply(
      u, unit_last_stride(in.delta), in.A.contiguous(), unit_last_stride(in.B), unit_last_stride(in.C),
      placeholder_if_undefined(contiguous_or_undefined(in.D), in.A),
      placeholder_if_undefined(unit_last_stride(in.z), u),
      placeholder_if_undefined(contiguous_or_undefined(in.delta_bias), in.A), in.delta_softplus, present);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

}  // namespace ftmamba::ops::cuda_scan
#endif
