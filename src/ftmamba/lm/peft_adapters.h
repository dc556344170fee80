// defines: LoRA adapters of a Mamba language model in PEFT's folder format, so that `PeftModel.from_pretrained`
// loads what `ftmamba lm finetune` trains, and ftmamba loads what PEFT trains: adapter_config.json (peft_type LORA,
// r, lora_alpha, lora_dropout, target_modules, task_type CAUSAL_LM, ...) and adapter_model.safetensors, tensors
// named base_model.model.backbone.layers.N.mixer.PROJ.lora_A.weight (r, in) and .lora_B.weight (out, r).
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "ftmamba/nn/mamba_lm.h"
#include "ftmamba/nn/projection.h"

namespace ftmamba::lm {

struct PeftAdapterConfig {
  nn::LoraOptions lora;
  std::vector<std::string> targets;  // module names: in_proj, x_proj, dt_proj, out_proj
  std::string base_model;            // base_model_name_or_path: the folder the adapters were trained on
};

// Whether DIR holds PEFT adapters (adapter_config.json and adapter_model.safetensors).
bool is_peft_folder(const std::filesystem::path& dir);

// Writes the adapters attached to `model` (every lora_A / lora_B) into DIR, each file through a temporary name.
void save_peft_adapters(nn::MambaLMImpl& model, const PeftAdapterConfig& config, const std::filesystem::path& dir);

// Reads DIR's adapter_config.json, attaches adapters to the targets it names and loads their weights. Throws Error
// naming the file and the key or tensor: another peft_type, a regex or unknown target, options ftmamba does not
// apply (fan_in_fan_out, use_dora, use_rslora, a bias other than "none", layers_to_transform, rank_pattern),
// a missing, unexpected or misshapen tensor.
PeftAdapterConfig load_peft_adapters(nn::MambaLMImpl& model, const std::filesystem::path& dir);

}  // namespace ftmamba::lm
