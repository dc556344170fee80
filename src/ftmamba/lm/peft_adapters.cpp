// defines: is_peft_folder, save_peft_adapters, load_peft_adapters (see peft_adapters.h).
#include "ftmamba/lm/peft_adapters.h"

#include <nlohmann/json.hpp>
#include <set>

#include "ftmamba/core/error.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/io/safetensors.h"
#include "ftmamba/lm/config_keys.h"
#include "ftmamba/lm/hf_checkpoint.h"
#include "ftmamba/nn/lora.h"

namespace ftmamba::lm {
namespace fs = std::filesystem;
namespace {

constexpr const char* kAdapterConfig = "adapter_config.json";
constexpr const char* kAdapterWeights = "adapter_model.safetensors";
constexpr const char* kPeftPrefix = "base_model.model.";

std::string peft_name(const std::string& parameter) { return kPeftPrefix + hf_name(parameter); }

}  // namespace

bool is_peft_folder(const fs::path& dir) {
  return fs::is_regular_file(dir / kAdapterConfig) && fs::is_regular_file(dir / kAdapterWeights);
}

void save_peft_adapters(nn::MambaLMImpl& model, const PeftAdapterConfig& config, const fs::path& dir) {
  io::NamedTensors tensors;
  for (const auto& item : model.named_parameters())
    if (nn::is_lora_parameter(item.key()))
      tensors.emplace_back(peft_name(item.key()), item.value().detach().to(torch::kCPU, torch::kFloat32).contiguous());
  if (tensors.empty()) throw Error("the model has no LoRA adapters to save");
  const nlohmann::ordered_json j = {{"peft_type", "LORA"},
                                    {"task_type", "CAUSAL_LM"},
                                    {"base_model_name_or_path", config.base_model},
                                    {"r", config.lora.rank},
                                    {"lora_alpha", config.lora.alpha},
                                    {"lora_dropout", config.lora.dropout},
                                    {"target_modules", config.targets},
                                    {"bias", "none"},
                                    {"fan_in_fan_out", false},
                                    {"inference_mode", true},
                                    {"init_lora_weights", true},
                                    {"modules_to_save", nullptr}};
  fs::create_directories(dir);
  io::save_safetensors(dir / kAdapterWeights, tensors, {{"format", "pt"}});
  io::write_file_atomic(dir / kAdapterConfig, j.dump(2) + "\n");
}

PeftAdapterConfig load_peft_adapters(nn::MambaLMImpl& model, const fs::path& dir) {
  const fs::path file = dir / kAdapterConfig;
  const auto j = config_keys::read_object(file);
  config_keys::require(j, file, "peft_type", "LORA", "LoRA adapters");
  config_keys::require(j, file, "bias", "none", "adapters without trained biases");
  for (const char* off : {"fan_in_fan_out", "use_dora", "use_rslora"})
    config_keys::require(j, file, off, false, "plain LoRA: B A x scaled by alpha / r");
  for (const char* absent : {"layers_to_transform", "rank_pattern", "alpha_pattern"})
    if (j.contains(absent) && !j[absent].is_null() && !(j[absent].is_object() && j[absent].empty()))
      throw Error(file.string() + ": key '" + absent + "' is not applied by ftmamba (one rank and alpha everywhere)");
  PeftAdapterConfig c;
  c.lora.rank = config_keys::integer(j, file, "r", 1, 1 << 16);
  if (!j.contains("lora_alpha") || !j["lora_alpha"].is_number())
    throw Error(file.string() + ": key 'lora_alpha' must be a number");
  c.lora.alpha = j["lora_alpha"].get<double>();
  c.lora.dropout = 0.0;  // inference: no dropout
  if (!j.contains("target_modules") || !j["target_modules"].is_array())
    throw Error(file.string() +
                ": key 'target_modules' must be a list of module names (a regular expression is not "
                "read)");
  for (const auto& t : j["target_modules"]) {
    if (!t.is_string()) throw Error(file.string() + ": key 'target_modules': module names are strings");
    const std::string name = t.get<std::string>();
    if (name != "in_proj" && name != "x_proj" && name != "dt_proj" && name != "out_proj")
      throw Error(file.string() + ": key 'target_modules': '" + name +
                  "' is not a projection of the Mamba mixer (in_proj, x_proj, dt_proj, out_proj)");
    c.targets.push_back(name);
  }
  if (j.contains("base_model_name_or_path") && j["base_model_name_or_path"].is_string())
    c.base_model = j["base_model_name_or_path"].get<std::string>();
  const fs::path weights = dir / kAdapterWeights;
  auto tensors = io::load_safetensors(weights);
  nn::attach_lora(model, c.lora, c.targets);
  std::set<std::string> used;
  torch::NoGradGuard no_grad;
  for (auto& item : model.named_parameters()) {
    if (!nn::is_lora_parameter(item.key())) continue;
    const std::string key = peft_name(item.key());
    const auto it = tensors.find(key);
    if (it == tensors.end()) throw Error(weights.string() + ": tensor '" + key + "' is missing");
    if (it->second.sizes() != item.value().sizes())
      throw Error(weights.string() + ": tensor '" + key + "' has shape " + c10::str(it->second.sizes()) +
                  ", r = " + std::to_string(c.lora.rank) + " gives " + c10::str(item.value().sizes()));
    if (!it->second.is_floating_point() || !torch::isfinite(it->second).all().item<bool>())
      throw Error(weights.string() + ": tensor '" + key + "' is not finite floating point");
    item.value().copy_(it->second.to(item.value().scalar_type()));
    used.insert(key);
  }
  for (const auto& [key, tensor] : tensors)
    if (!used.count(key))
      throw Error(weights.string() + ": unexpected tensor '" + key + "' (not an adapter of the targets " +
                  kAdapterConfig + " names)");
  return c;
}

}  // namespace ftmamba::lm
