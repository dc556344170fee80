// defines: decode_layers and its LibTorch reference (see decode_layers.h).
#include "ftmamba/ops/decode_layers.h"

#include <iterator>
#include <optional>
#include <stdexcept>

#include "ftmamba/ops/decode_linear.h"
#include "ftmamba/ops/mamba_step.h"

#ifdef FTMAMBA_WITH_CUDA
#include <cstdint>

#include "ftmamba/kernels/decode_layers_cuda.h"
#include "ftmamba/ops/cuda_util.h"
#endif

namespace ftmamba::ops {
namespace {

#ifdef FTMAMBA_WITH_CUDA
bool matrix_ok(const torch::Tensor& m, const torch::Tensor& like, int64_t rows, int64_t cols) {
  return m.defined() && m.device() == like.device() && m.scalar_type() == like.scalar_type() && m.is_contiguous() &&
         m.dim() == 2 && m.size(0) == rows && m.size(1) == cols &&
         reinterpret_cast<std::uintptr_t>(m.data_ptr()) % 16 == 0;
}

bool vector_ok(const torch::Tensor& v, const torch::Tensor& like, int64_t n) {
  return cuda_util::contiguous_float32(v) && v.device() == like.device() && v.numel() == n;
}

// The step's sizes, read off the residual and the first layer.
struct StepSizes {
  int64_t batch = 0, d_model = 0, d_inner = 0, d_state = 0, rank = 0, width = 0;
};

// The sizes when the kernel takes these layers (decode_layers_fused), else nothing.
std::optional<StepSizes> fused_sizes(const torch::Tensor& residual, const std::vector<DecodeLayer>& layers) {
  if (layers.empty() || !residual.is_cuda() || residual.dim() != 2 || residual.scalar_type() != torch::kFloat32)
    return std::nullopt;
  const auto& first = layers.front();
  if (!first.in_proj.defined() || first.in_proj.dim() != 2 || !cuda_util::kernel_dtype(first.in_proj.scalar_type()) ||
      first.in_proj.device() != residual.device() || !first.conv_weight.defined() || first.conv_weight.dim() != 2 ||
      !first.x_proj.defined() || first.x_proj.dim() != 2 || !first.A_log.defined() || first.A_log.dim() != 2)
    return std::nullopt;
  StepSizes sz;
  sz.batch = residual.size(0);
  sz.d_model = residual.size(1);
  sz.d_inner = first.in_proj.size(0) / 2;
  sz.width = first.conv_weight.size(1);
  sz.d_state = first.A_log.size(1);
  sz.rank = first.x_proj.size(0) - 2 * sz.d_state;
  if (first.in_proj.size(1) != sz.d_model ||
      !kernels::decode_layers_takes(sz.batch, static_cast<int64_t>(layers.size()), sz.d_model, sz.d_inner, sz.rank,
                                    sz.d_state, sz.width, first.in_proj.element_size()))
    return std::nullopt;
  const auto& m = first.in_proj;
  const int64_t di = sz.d_inner;
  for (const auto& l : layers) {
    if (!matrix_ok(l.in_proj, m, 2 * di, sz.d_model) || !matrix_ok(l.x_proj, m, sz.rank + 2 * sz.d_state, di) ||
        !matrix_ok(l.dt_proj, m, di, sz.rank) || !matrix_ok(l.out_proj, m, sz.d_model, di) ||
        !vector_ok(l.norm_weight, m, sz.d_model) || !vector_ok(l.conv_weight, m, di * sz.width) ||
        (l.conv_bias.defined() && !vector_ok(l.conv_bias, m, di)) || !vector_ok(l.dt_bias, m, di) ||
        !vector_ok(l.A_log, m, di * sz.d_state) || !vector_ok(l.D, m, di) || !l.conv_state || !l.ssm_state ||
        !l.conv_state->defined() || !l.ssm_state->defined() || l.conv_state->device() != m.device() ||
        l.ssm_state->device() != m.device() ||
        l.conv_state->sizes() != torch::IntArrayRef{sz.batch, sz.width - 1, di} ||
        l.ssm_state->sizes() != torch::IntArrayRef{sz.batch, di, sz.d_state})
      return std::nullopt;
  }
  return sz;
}
#endif

constexpr const char* kNotTaken = "decode_layers: the one-kernel step does not take these layers";

}  // namespace

bool decode_layers_fused(const torch::Tensor& residual, const std::vector<DecodeLayer>& layers) {
#ifdef FTMAMBA_WITH_CUDA
  return fused_sizes(residual, layers).has_value();
#else
  (void)residual;
  (void)layers;
  return false;
#endif
}

DecodeLayersOut decode_layers(const torch::Tensor& residual, const std::vector<DecodeLayer>& layers,
                              torch::Tensor* phase_clock) {
#ifdef FTMAMBA_WITH_CUDA
  const auto sizes = fused_sizes(residual, layers);
  if (!sizes) throw std::invalid_argument(kNotTaken);
  const auto& m = layers.front().in_proj;
  const int64_t batch = sizes->batch, d_model = sizes->d_model, d_inner = sizes->d_inner;
  const int64_t d_state = sizes->d_state, rank = sizes->rank;
  for (const auto& l : layers) {
    if (!l.conv_state->is_contiguous() || l.conv_state->scalar_type() != m.scalar_type())
      *l.conv_state = l.conv_state->to(m.scalar_type()).contiguous();
    if (!cuda_util::contiguous_float32(*l.ssm_state)) *l.ssm_state = l.ssm_state->to(torch::kFloat32).contiguous();
  }
  // The residual's two buffers, the phases' scratch, and the barrier's counter (zeroed here, in the step's graph).
  auto residuals = torch::empty({2, batch, d_model}, residual.options());
  residuals[0].copy_(residual);
  auto xz = torch::empty({batch, 2 * d_inner}, m.options());
  auto x_dbl = torch::empty({batch, rank + 2 * d_state}, m.options());
  auto y = torch::empty({batch, d_inner}, m.options());
  auto delta = torch::empty({batch, d_model}, m.options());
  auto barrier = torch::zeros({1}, residual.options().dtype(torch::kInt32));
  kernels::DecodeLayersCudaParams p;
  p.batch = batch;
  p.n_layers = static_cast<int64_t>(layers.size());
  p.d_model = d_model;
  p.d_inner = d_inner;
  p.rank = rank;
  p.conv_width = sizes->width;
  p.dtype = cuda_util::dtype_of(m, "decode layers");
  p.residual = residuals.data_ptr<float>();
  p.xz = xz.data_ptr();
  p.x_dbl = x_dbl.data_ptr();
  p.y = y.data_ptr();
  p.delta = delta.data_ptr();
  p.barrier = reinterpret_cast<unsigned*>(barrier.data_ptr<int32_t>());
  for (size_t i = 0; i < layers.size(); ++i) {
    const auto& l = layers[i];
    auto& q = p.layers[i];
    q.norm_weight = l.norm_weight.data_ptr<float>();
    q.eps = static_cast<float>(l.eps);
    q.in_proj = l.in_proj.data_ptr();
    q.conv_weight = l.conv_weight.data_ptr<float>();
    q.conv_bias = l.conv_bias.defined() ? l.conv_bias.data_ptr<float>() : nullptr;
    q.x_proj = l.x_proj.data_ptr();
    q.dt_proj = l.dt_proj.data_ptr();
    q.dt_bias = l.dt_bias.data_ptr<float>();
    q.A_log = l.A_log.data_ptr<float>();
    q.D = l.D.data_ptr<float>();
    q.out_proj = l.out_proj.data_ptr();
    q.conv_state = l.conv_state->data_ptr();
    q.ssm_state = l.ssm_state->data_ptr<float>();
  }
  if (phase_clock) {
    *phase_clock = torch::zeros({kernels::decode_layers_blocks(), kernels::decode_layers_phase_marks(p.n_layers)},
                                residual.options().dtype(torch::kInt64));
    p.phase_clock = reinterpret_cast<unsigned long long*>(phase_clock->data_ptr<int64_t>());
  }
  p.stream = cuda_util::stream_for(residual);
  kernels::decode_layers_cuda(p);
  return {residuals[static_cast<int64_t>(layers.size()) % 2], delta};
#else
  (void)residual;
  (void)layers;
  (void)phase_clock;
  throw std::invalid_argument(kNotTaken);
#endif
}

std::vector<std::string> decode_layers_phases() {
#ifdef FTMAMBA_WITH_CUDA
  return {std::begin(kernels::kDecodeLayersPhaseNames), std::end(kernels::kDecodeLayersPhaseNames)};
#else
  return {};
#endif
}

DecodeLayersOut decode_layers_reference(const torch::Tensor& residual, const std::vector<DecodeLayer>& layers) {
  DecodeLayersOut r{residual.clone(), {}};
  for (const auto& l : layers) {
    const auto norm = add_rms_norm_linear_reference(r.residual, r.delta, l.norm_weight, l.eps, l.in_proj);
    r.residual = norm.residual;
    const int64_t d_inner = l.in_proj.size(0) / 2;
    const auto x_in = norm.out.narrow(1, 0, d_inner), z = norm.out.narrow(1, d_inner, d_inner);  // (batch, d_inner)
    SsmStepInputs in{{}, {}, z, l.dt_proj, {}, l.dt_bias, l.A_log, l.D};
    in.x_dbl = conv_linear_reference(x_in, *l.conv_state, l.conv_weight, l.conv_bias, l.x_proj);
    in.x_in = x_in;
    in.conv_state = l.conv_state;
    in.conv_weight = l.conv_weight;
    in.conv_bias = l.conv_bias;
    r.delta = linear_rows_reference(ssm_step_reference(in, *l.ssm_state), l.out_proj);
  }
  return r;
}

}  // namespace ftmamba::ops
