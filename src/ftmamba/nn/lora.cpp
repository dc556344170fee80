#include "ftmamba/nn/lora.h"

#include <fnmatch.h>

#include <stdexcept>

namespace ftmamba::nn {

std::vector<std::string> lora_default_targets(EncoderType encoder_type) {
  switch (encoder_type) {
    case EncoderType::kFtMamba:
      return {"in_proj", "x_proj", "dt_proj", "out_proj"};
    case EncoderType::kFtTransformer:
      return {"W_q", "W_k", "W_v", "W_out", "linear_first", "linear_second"};
    case EncoderType::kFtTransformerStock:
      return {"W_q", "W_k", "W_v", "W_out", "linear1", "linear2"};
  }
  throw std::invalid_argument("LoRA: no default targets for encoder type " +
                              std::to_string(static_cast<int>(encoder_type)));
}

namespace {
bool glob(const std::string& pattern, const std::string& text) {
  return fnmatch(pattern.c_str(), text.c_str(), 0) == 0;
}

// The Projections of `model`, with their dotted paths, in registration order.
std::vector<std::pair<std::string, Projection>> projections(torch::nn::Module& model) {
  std::vector<std::pair<std::string, Projection>> out;
  for (const auto& item : model.named_modules("", /*include_self=*/false))
    if (auto p = std::dynamic_pointer_cast<ProjectionImpl>(item.value())) out.emplace_back(item.key(), Projection(p));
  return out;
}
}  // namespace

bool lora_target_matches(const std::string& pattern, const std::string& module_path) {
  if (glob(pattern, module_path)) return true;
  const size_t dot = module_path.rfind('.');
  return dot != std::string::npos && glob(pattern, module_path.substr(dot + 1));
}

std::vector<std::string> attach_lora(torch::nn::Module& model, const LoraOptions& options,
                                     const std::vector<std::string>& targets) {
  if (targets.empty()) throw std::invalid_argument("LoRA: no targets given");
  // One matching pass: which projections any target names, and which targets name any projection.
  auto all = projections(model);
  std::vector<bool> target_used(targets.size(), false);
  std::vector<size_t> chosen;
  for (size_t p = 0; p < all.size(); ++p) {
    bool hit = false;
    for (size_t t = 0; t < targets.size(); ++t)
      if (lora_target_matches(targets[t], all[p].first)) {
        target_used[t] = true;
        hit = true;
      }
    if (hit) chosen.push_back(p);
  }
  for (size_t t = 0; t < targets.size(); ++t) {
    if (target_used[t]) continue;
    std::string names;
    for (const auto& [path, proj] : all) names += "\n  " + path;
    throw std::invalid_argument("LoRA target '" + targets[t] +
                                "' matches no projection of the model; they are:" + names);
  }
  std::vector<std::string> attached;
  for (const size_t p : chosen) {
    all[p].second->attach_lora(options);
    attached.push_back(all[p].first);
  }
  return attached;
}

bool is_lora_parameter(const std::string& name) {
  return name.find(".lora_A.") != std::string::npos || name.find(".lora_B.") != std::string::npos ||
         name.rfind("lora_A.", 0) == 0 || name.rfind("lora_B.", 0) == 0;
}

ParameterCount freeze_all_but_adapters(torch::nn::Module& model, const std::vector<std::string>& extra) {
  for (auto& item : model.named_parameters()) {
    bool train = is_lora_parameter(item.key());
    for (const std::string& e : extra) train = train || lora_target_matches(e, item.key());
    item.value().set_requires_grad(train);
  }
  return count_parameters(model);
}

ParameterCount count_parameters(const torch::nn::Module& model) {
  ParameterCount c;
  for (const auto& p : model.parameters()) {
    c.total += p.numel();
    if (p.requires_grad()) c.trainable += p.numel();
  }
  return c;
}

int64_t merge_lora(torch::nn::Module& model) {
  int64_t merged = 0;
  for (auto& [path, proj] : projections(model)) {
    if (!proj->has_lora()) continue;
    proj->merge_lora();
    ++merged;
  }
  return merged;
}

}  // namespace ftmamba::nn
