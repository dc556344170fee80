// defines: fine-tuning a trained two-tower model: FinetuneOptions (LoRA or full), prepare_finetune (attaches
// the adapters and freezes the base, or leaves every weight trainable), and the adapter file of a LoRA run:
// adapters.safetensors, whose tensors carry PEFT's names (base_model.model.<parameter>) and whose metadata
// names the base run and the SHA-256 of its model.safetensors.
#pragma once
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ftmamba/nn/lora.h"
#include "ftmamba/nn/two_tower.h"
#include "ftmamba/train/config.h"
#include "ftmamba/train/precision.h"

namespace ftmamba::train {

struct FinetuneOptions {
  bool full = false;                     // train every weight (the baseline); otherwise LoRA
  nn::LoraOptions lora{8, 16.0, 0.0};    // rank, alpha, dropout
  std::vector<std::string> targets;      // globs over projection paths; empty: each tower type's defaults
  std::vector<std::string> train_extra;  // LoRA only: parameters trained besides the adapters (globs)

  nlohmann::json to_json() const;
  static FinetuneOptions from_json(const nlohmann::json& j);
};

// One fine-tuning variant of a comparison: what is trained (everything, or LoRA adapters) and in which
// precision. Named MODE-PRECISION: "full-fp32", "lora-bf16", ...
struct FinetuneVariant {
  bool lora = false;
  Precision precision = Precision::kFp32;
  std::string name() const;
  std::string precision_name() const { return train::precision_name(precision); }
};
// Throws Error naming the expected form and the precisions otherwise.
FinetuneVariant parse_finetune_variant(const std::string& name);

// The LoRA targets used when none are given: the union of each tower type's defaults (nn/lora.h).
std::vector<std::string> default_lora_targets(const RunConfig& cfg);

struct FinetunePlan {
  std::vector<std::string> adapted;  // projection paths that received an adapter (LoRA)
  nn::ParameterCount parameters;     // trainable / total after preparing
};

// LoRA: attaches adapters to the targets (options.targets or the defaults) and freezes all but them and the
// extras. Full: every parameter stays trainable. Throws Error for a target that matches nothing (the message
// lists the model's projections).
FinetunePlan prepare_finetune(nn::TwoTower& model, const RunConfig& cfg, const FinetuneOptions& options);

// Hex SHA-256 of a file's bytes; throws Error when it cannot be read.
std::string sha256_file(const std::filesystem::path& file);

// The PEFT name of a parameter in an adapter file: "base_model.model." + its name in the model.
std::string peft_name(const std::string& parameter);

// Writes the trainable parameters (the adapters and any extras) under their PEFT names, with `metadata`.
void save_adapters(const std::filesystem::path& file, torch::nn::Module& model,
                   const std::map<std::string, std::string>& metadata);
// Reads an adapter file into a model that already has the same adapters attached. Every tensor of the file
// must name a parameter of the model with the same shape; every adapter of the model must be in the file.
// Returns the file's metadata.
std::map<std::string, std::string> load_adapters(const std::filesystem::path& file, torch::nn::Module& model);

}  // namespace ftmamba::train
