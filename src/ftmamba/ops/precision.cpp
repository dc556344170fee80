// defines: Precision, AutocastScope, cast_weights and DynamicLossScaler (see precision.h).
#include "ftmamba/ops/precision.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include "ftmamba/core/error.h"
#include "ftmamba/kernels/cpu_isa.h"

// LibTorch 2.4 replaced the per-device autocast functions (set_enabled, set_cpu_enabled, ...) by ones that
// take the device type.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define FTMAMBA_AUTOCAST_BY_DEVICE_TYPE 1
#endif

namespace ftmamba::ops {
namespace {

bool autocast_enabled(c10::DeviceType t) {
#ifdef FTMAMBA_AUTOCAST_BY_DEVICE_TYPE
  return at::autocast::is_autocast_enabled(t);
#else
  return t == c10::DeviceType::CUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}

void set_autocast_enabled(c10::DeviceType t, bool on) {
#ifdef FTMAMBA_AUTOCAST_BY_DEVICE_TYPE
  at::autocast::set_autocast_enabled(t, on);
#else
  t == c10::DeviceType::CUDA ? at::autocast::set_enabled(on) : at::autocast::set_cpu_enabled(on);
#endif
}

c10::ScalarType autocast_dtype(c10::DeviceType t) {
#ifdef FTMAMBA_AUTOCAST_BY_DEVICE_TYPE
  return at::autocast::get_autocast_dtype(t);
#else
  return t == c10::DeviceType::CUDA ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
#endif
}

void set_autocast_dtype(c10::DeviceType t, c10::ScalarType d) {
#ifdef FTMAMBA_AUTOCAST_BY_DEVICE_TYPE
  at::autocast::set_autocast_dtype(t, d);
#else
  t == c10::DeviceType::CUDA ? at::autocast::set_autocast_gpu_dtype(d) : at::autocast::set_autocast_cpu_dtype(d);
#endif
}

}  // namespace

torch::ScalarType matmul_dtype(torch::Device device, torch::ScalarType otherwise) {
  return autocast_enabled(device.type()) ? autocast_dtype(device.type()) : otherwise;
}

torch::ScalarType low_precision_dtype(Precision p) {
  switch (p) {
    case Precision::kBf16:
    case Precision::kBf16Pure:
      return torch::kBFloat16;
    case Precision::kFp16:
      return torch::kFloat16;
    case Precision::kFp32:
      break;
  }
  return torch::kFloat32;
}

bool is_mixed(Precision p) { return p == Precision::kBf16 || p == Precision::kFp16; }

void check_precision_supported(Precision p, torch::Device device) {
  if (p == Precision::kFp16 && !device.is_cuda())
    throw Error("precision fp16 needs a GPU (autocast to float16 is CUDA-only); use bf16 on the CPU");
}

std::string slow_precision_note(Precision p, torch::Device device) {
  const bool bf16 = p == Precision::kBf16 || p == Precision::kBf16Pure;
  if (!bf16 || !device.is_cpu() || kernels::cpu_has_bf16_arithmetic()) return "";
  return "this CPU has no bfloat16 arithmetic (AVX512_BF16 or AMX): every bf16 product is widened first, and bf16 "
         "training ran 5-7x slower than fp32 on such a CPU (docs/BENCHMARKS.md); --precision fp32 is faster here";
}

AutocastSetting current_autocast(c10::DeviceType type) { return {type, autocast_enabled(type), autocast_dtype(type)}; }

AutocastScope::AutocastScope(Precision p, torch::Device device, bool cache) {
  if (!is_mixed(p)) return;
  check_precision_supported(p, device);
  enter(device.type(), low_precision_dtype(p), cache);
}

AutocastScope::AutocastScope(const AutocastSetting& setting, bool cache) {
  if (setting.enabled) enter(setting.type, setting.dtype, cache);
}

void AutocastScope::enter(c10::DeviceType type, c10::ScalarType dtype, bool cache) {
  active_ = true;
  type_ = type;
  was_enabled_ = autocast_enabled(type_);
  was_dtype_ = autocast_dtype(type_);
  was_cache_ = at::autocast::is_autocast_cache_enabled();
  set_autocast_enabled(type_, true);
  set_autocast_dtype(type_, dtype);
  at::autocast::set_autocast_cache_enabled(cache);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  // The outermost scope frees the cached casts of the weights, as torch.autocast does on exit.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_autocast_enabled(type_, was_enabled_);
  set_autocast_dtype(type_, was_dtype_);
  at::autocast::set_autocast_cache_enabled(was_cache_);
}

void cast_weights(torch::nn::Module& model, Precision p) {
  if (p != Precision::kBf16Pure) return;
  torch::NoGradGuard no_grad;
  // In place, so that the module's registered tensors (and anything already holding them) see the change.
  for (auto& t : model.parameters())
    if (t.is_floating_point()) t.set_data(t.to(torch::kBFloat16));
  for (auto& t : model.buffers())
    if (t.is_floating_point()) t.set_data(t.to(torch::kBFloat16));
}

DynamicLossScaler::DynamicLossScaler(torch::Device device, double init_scale, double growth_factor,
                                     double backoff_factor, int64_t growth_interval)
    : growth_(growth_factor), backoff_(backoff_factor), interval_(growth_interval) {
  if (init_scale <= 0 || growth_factor < 1 || backoff_factor <= 0 || backoff_factor >= 1 || growth_interval < 1)
    throw Error("loss scaler: need init_scale > 0, growth_factor >= 1, 0 < backoff_factor < 1, growth_interval >= 1");
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  scale_ = torch::full({}, init_scale, f32);
  found_inf_ = torch::zeros({}, f32);
  clean_steps_ = torch::zeros({}, f32);
  skipped_ = torch::zeros({}, f32);
}

torch::Tensor DynamicLossScaler::scale(const torch::Tensor& loss) const { return loss.to(torch::kFloat32) * scale_; }

void DynamicLossScaler::unscale(const std::vector<torch::Tensor>& grads) {
  torch::NoGradGuard no_grad;
  found_inf_.zero_();
  if (grads.empty()) return;
  const auto inv_scale = scale_.reciprocal();
  if (grads.front().is_cuda()) {
    // One multi-tensor kernel: multiplies every gradient by inv_scale and raises found_inf on inf / NaN.
    at::_amp_foreach_non_finite_check_and_unscale_(grads, found_inf_, inv_scale);
    return;
  }
  for (const auto& g : grads) {
    g.mul_(inv_scale);
    found_inf_.copy_(torch::maximum(found_inf_, torch::isfinite(g).all().logical_not().to(torch::kFloat32)));
  }
}

void DynamicLossScaler::update() {
  torch::NoGradGuard no_grad;
  // Device arithmetic only (no branch on a device value), so a captured step replays it unchanged.
  const auto clean = 1.0 - found_inf_;  // 1 for a clean step
  clean_steps_.add_(1.0).mul_(clean);   // an overflow restarts the count
  const auto grow = clean_steps_.ge(static_cast<double>(interval_)).to(torch::kFloat32);
  scale_.mul_(found_inf_ * backoff_ + clean).mul_(grow * (growth_ - 1.0) + 1.0);
  clean_steps_.mul_(1.0 - grow);
  skipped_.add_(found_inf_);
}

double DynamicLossScaler::current_scale() const { return scale_.item<double>(); }
int64_t DynamicLossScaler::skipped_steps() const { return static_cast<int64_t>(skipped_.item<double>()); }

}  // namespace ftmamba::ops
