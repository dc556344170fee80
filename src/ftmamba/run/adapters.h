// defines: the adapter side of a run folder: FinetuneOptions (LoRA or full, as config.json records them), the
// default LoRA targets, and the adapter file of a LoRA run: adapters.safetensors, whose tensors carry PEFT's
// names (base_model.model.<parameter>) and whose metadata names the base run and the SHA-256 of its
// model.safetensors.
#pragma once
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ftmamba/nn/lora.h"
#include "ftmamba/run/config.h"

namespace ftmamba::run {

struct FinetuneOptions {
  bool full = false;                     // train every weight (the baseline); otherwise LoRA
  nn::LoraOptions lora{8, 16.0, 0.0};    // rank, alpha, dropout
  std::vector<std::string> targets;      // globs over projection paths; empty: each tower type's defaults
  std::vector<std::string> train_extra;  // LoRA only: parameters trained besides the adapters (globs)

  nlohmann::json to_json() const;
  static FinetuneOptions from_json(const nlohmann::json& j);
};

// The LoRA targets used when none are given: the union of each tower type's defaults (nn/lora.h).
std::vector<std::string> default_lora_targets(const RunConfig& cfg);

// The PEFT name of a parameter in an adapter file: "base_model.model." + its name in the model.
std::string peft_name(const std::string& parameter);

// Writes the trainable parameters (the adapters and any extras) under their PEFT names, with `metadata`.
void save_adapters(const std::filesystem::path& file, torch::nn::Module& model,
                   const std::map<std::string, std::string>& metadata);
// Reads an adapter file into a model that already has the same adapters attached. Every tensor of the file
// must name a parameter of the model with the same shape; every adapter of the model must be in the file.
// Returns the file's metadata.
std::map<std::string, std::string> load_adapters(const std::filesystem::path& file, torch::nn::Module& model);

}  // namespace ftmamba::run
