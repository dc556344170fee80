// defines: FinetuneOptions, the default LoRA targets and the adapter file (see adapters.h).
#include "ftmamba/run/adapters.h"

#include <algorithm>

#include "ftmamba/core/error.h"
#include "ftmamba/io/safetensors.h"
#include "ftmamba/run/config.h"

namespace ftmamba::run {
namespace fs = std::filesystem;

nlohmann::json FinetuneOptions::to_json() const {
  nlohmann::json j;
  j["mode"] = full ? "full" : "lora";
  if (!full) {
    j["rank"] = lora.rank;
    j["alpha"] = lora.alpha;
    j["dropout"] = lora.dropout;
    j["targets"] = targets;
    j["train_extra"] = train_extra;
  }
  return j;
}

FinetuneOptions FinetuneOptions::from_json(const nlohmann::json& j) {
  FinetuneOptions o;
  o.full = j.at("mode").get<std::string>() == "full";
  if (!o.full) {
    o.lora.rank = j.at("rank").get<int64_t>();
    o.lora.alpha = j.at("alpha").get<double>();
    o.lora.dropout = j.value("dropout", 0.0);
    o.targets = j.at("targets").get<std::vector<std::string>>();
    o.train_extra = j.value("train_extra", std::vector<std::string>{});
  }
  return o;
}

std::vector<std::string> default_lora_targets(const RunConfig& cfg) {
  std::vector<std::string> out;
  for (const char* side : {"user", "item"})
    for (const auto& t : nn::lora_default_targets(cfg.tower(side).type))
      if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
  return out;
}

std::string peft_name(const std::string& parameter) { return "base_model.model." + parameter; }

void save_adapters(const fs::path& file, torch::nn::Module& model, const std::map<std::string, std::string>& metadata) {
  io::NamedTensors tensors;
  for (const auto& p : model.named_parameters())
    if (p.value().requires_grad() || nn::is_lora_parameter(p.key()))
      tensors.emplace_back(peft_name(p.key()), p.value().detach().to(torch::kFloat32));
  if (tensors.empty()) throw Error("no adapters to save: the model has no trainable parameters");
  io::save_safetensors(file, tensors, metadata);
}

std::map<std::string, std::string> load_adapters(const fs::path& file, torch::nn::Module& model) {
  std::map<std::string, std::string> metadata;
  auto tensors = io::load_safetensors(file, &metadata);
  torch::NoGradGuard no_grad;
  for (auto& p : model.named_parameters()) {
    auto it = tensors.find(peft_name(p.key()));
    if (it == tensors.end()) {
      if (nn::is_lora_parameter(p.key())) throw Error(file.string() + ": missing adapter '" + peft_name(p.key()) + "'");
      continue;  // a base weight the fine-tuning did not train
    }
    if (it->second.sizes() != p.value().sizes())
      throw Error(file.string() + ": tensor '" + it->first + "' has shape " + c10::str(it->second.sizes()) +
                  ", the model expects " + c10::str(p.value().sizes()));
    if (!it->second.is_floating_point())
      throw Error(file.string() + ": tensor '" + it->first + "' has dtype " + c10::toString(it->second.scalar_type()) +
                  ", an adapter must be floating point");
    p.value().copy_(it->second);
    tensors.erase(it);
  }
  if (!tensors.empty()) throw Error(file.string() + ": tensor '" + tensors.begin()->first + "' names no parameter");
  return metadata;
}

}  // namespace ftmamba::run
