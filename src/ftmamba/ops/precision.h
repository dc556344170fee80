// defines: Precision (fp32 | bf16 | fp16 | bf16-pure) and what each means for a step: AutocastScope (mixed
// precision: matmuls in bf16 / fp16, everything else and the weights in fp32), cast_weights (pure bf16: the
// weights themselves in bf16) and DynamicLossScaler (fp16: the loss scaled up so that small gradients do not
// flush to zero, steps with an overflowed gradient skipped, the scale adapted).
#pragma once
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "ftmamba/core/enum_text.h"

namespace ftmamba::ops {

enum class Precision {
  kFp32,      // everything in float32
  kBf16,      // mixed: autocast to bfloat16 (CPU and CUDA), float32 master weights
  kFp16,      // mixed: autocast to float16 (CUDA only), float32 master weights, dynamic loss scaling
  kBf16Pure,  // the weights, optimizer state and activations in bfloat16 (the paper warns: can be unstable)
};

}  // namespace ftmamba::ops

template <>
struct ftmamba::EnumText<ftmamba::ops::Precision> {
  static constexpr std::string_view what = "precision";
  static constexpr std::array<std::pair<ops::Precision, std::string_view>, 4> names{{
      {ops::Precision::kFp32, "fp32"},
      {ops::Precision::kBf16, "bf16"},
      {ops::Precision::kFp16, "fp16"},
      {ops::Precision::kBf16Pure, "bf16-pure"},
  }};
};

namespace ftmamba::ops {

inline constexpr const char* kPrecisionHelp =
    "fp32, bf16 or fp16 (mixed: autocast with float32 master weights; fp16 on a GPU only, with dynamic loss "
    "scaling), or bf16-pure (the weights themselves in bfloat16)";

// bfloat16 / float16 for the low-precision modes, float32 for fp32.
torch::ScalarType low_precision_dtype(Precision p);
bool is_mixed(Precision p);  // bf16 or fp16: autocast with float32 weights
// Throws Error when the device cannot run the precision (fp16 autocast on the CPU).
void check_precision_supported(Precision p, torch::Device device);

// A note for a precision that runs but is slow on this device, or "": bf16 (mixed or pure) on a CPU without bfloat16
// arithmetic (kernels::cpu_has_bf16_arithmetic), where training measured 5-7x slower than fp32.
std::string slow_precision_note(Precision p, torch::Device device);

// Autocast as it stands on a device type, for a recompute in the backward (which runs outside the forward's
// scope) to put back in force with AutocastScope(setting).
struct AutocastSetting {
  c10::DeviceType type = c10::DeviceType::CPU;
  bool enabled = false;
  c10::ScalarType dtype = c10::ScalarType::BFloat16;
};
AutocastSetting current_autocast(c10::DeviceType type);

// While alive, autocast is on for `device`'s type with the precision's dtype (nothing for fp32 and bf16-pure).
// Matmuls (projections, attention, the score) then run in bf16 / fp16 from float32 weights; the selective
// scan's arithmetic and state, A_log, D, the norms and the residual stream stay float32 (the CPU scan widens
// bf16 inputs row by row inside its kernel). Run the backward after the scope has ended. cache: reuse
// each weight's cast within the scope (off while a CUDA graph is captured).
class AutocastScope {
 public:
  AutocastScope(Precision p, torch::Device device, bool cache = true);
  // Puts `setting` in force (nothing when it is off).
  explicit AutocastScope(const AutocastSetting& setting, bool cache = true);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  void enter(c10::DeviceType type, c10::ScalarType dtype, bool cache);
  bool active_ = false;
  c10::DeviceType type_ = c10::DeviceType::CPU;
  bool was_enabled_ = false, was_cache_ = true;
  c10::ScalarType was_dtype_ = c10::ScalarType::Float;
};

// The dtype a matmul on `device` runs in at this point: the autocast dtype while autocast is on for the
// device's type, else `otherwise`. For code that casts explicitly where autocast cannot reach (inside a custom
// autograd function).
torch::ScalarType matmul_dtype(torch::Device device, torch::ScalarType otherwise);

// bf16-pure: every floating parameter and buffer of `model` becomes bfloat16. Other precisions leave the
// model in float32.
void cast_weights(torch::nn::Module& model, Precision p);

// Dynamic loss scaling for fp16, in device tensors only, so that a step using it can be captured in a CUDA
// graph. The loss is multiplied by the scale before the backward; unscale() divides the gradients by it and
// sets found_inf when any gradient is inf or NaN; the optimizer then skips the step (MultiTensorAdamW takes
// found_inf); update() halves the scale after an overflow and doubles it after `growth_interval` clean steps.
class DynamicLossScaler {
 public:
  explicit DynamicLossScaler(torch::Device device, double init_scale = 65536.0, double growth_factor = 2.0,
                             double backoff_factor = 0.5, int64_t growth_interval = 2000);
  torch::Tensor scale(const torch::Tensor& loss) const;  // loss * scale, in float32
  void unscale(const std::vector<torch::Tensor>& grads);
  // () float32 on the device: 1 when the last unscale() met an inf / NaN gradient, else 0.
  const torch::Tensor& found_inf() const { return found_inf_; }
  // The scale, the clean-step count and the skipped count, as live tensors (for a checkpoint).
  std::vector<std::pair<std::string, torch::Tensor>> state() const {
    return {{"scale", scale_}, {"clean_steps", clean_steps_}, {"skipped", skipped_}};
  }
  void update();
  double current_scale() const;   // reads the device (host synchronisation)
  int64_t skipped_steps() const;  // steps skipped so far; reads the device

 private:
  torch::Tensor scale_, found_inf_, clean_steps_, skipped_;  // () float32 each
  double growth_, backoff_;
  int64_t interval_;
};

}  // namespace ftmamba::ops
