// defines: fine-tuning a trained two-tower model: FinetuneVariant (what is trained, in which precision) and
// prepare_finetune (attaches the adapters and freezes the base, or leaves every weight trainable).
#pragma once
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ftmamba/nn/lora.h"
#include "ftmamba/nn/two_tower.h"
#include "ftmamba/ops/precision.h"
#include "ftmamba/run/adapters.h"
#include "ftmamba/run/config.h"

namespace ftmamba::train {

// One fine-tuning variant of a comparison: what is trained (everything, or LoRA adapters) and in which
// precision. Named MODE-PRECISION: "full-fp32", "lora-bf16", ...
struct FinetuneVariant {
  bool lora = false;
  ops::Precision precision = ops::Precision::kFp32;
  std::string name() const;
  std::string precision_name() const { return enum_name(precision); }
};
// Throws Error naming the expected form and the precisions otherwise.
FinetuneVariant parse_finetune_variant(const std::string& name);

struct FinetunePlan {
  std::vector<std::string> adapted;  // projection paths that received an adapter (LoRA)
  nn::ParameterCount parameters;     // trainable / total after preparing
};

// LoRA: attaches adapters to the targets (options.targets or the defaults) and freezes all but them and the
// extras. Full: every parameter stays trainable. Throws Error for a target that matches nothing (the message
// lists the model's projections).
FinetunePlan prepare_finetune(nn::TwoTower& model, const run::RunConfig& cfg, const run::FinetuneOptions& options);

}  // namespace ftmamba::train
