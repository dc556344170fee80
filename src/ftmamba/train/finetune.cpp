// defines: FinetuneOptions, prepare_finetune and the adapter file (see finetune.h).
#include "ftmamba/train/finetune.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <memory>
#include <stdexcept>

#include "ftmamba/core/error.h"
#include "ftmamba/io/safetensors.h"

namespace ftmamba::train {
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

std::string FinetuneVariant::name() const { return std::string(lora ? "lora-" : "full-") + precision_name(); }

FinetuneVariant parse_finetune_variant(const std::string& name) {
  const auto dash = name.find('-');
  const std::string mode = name.substr(0, dash);
  if (dash == std::string::npos || (mode != "full" && mode != "lora"))
    throw Error("'" + name + "' is not a fine-tuning variant MODE-PRECISION (MODE full or lora, e.g. lora-bf16)");
  FinetuneVariant v;
  v.lora = mode == "lora";
  v.precision = parse_precision(name.substr(dash + 1));  // throws, naming the precisions
  return v;
}

std::vector<std::string> default_lora_targets(const RunConfig& cfg) {
  std::vector<std::string> out;
  for (const char* side : {"user", "item"})
    for (const auto& t : nn::lora_default_targets(cfg.tower(side).type))
      if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
  return out;
}

FinetunePlan prepare_finetune(nn::TwoTower& model, const RunConfig& cfg, const FinetuneOptions& options) {
  FinetunePlan plan;
  if (options.full) {
    for (auto& p : model->parameters()) p.set_requires_grad(true);
    plan.parameters = nn::count_parameters(*model);
    return plan;
  }
  if (options.lora.rank < 1) throw Error("lora.rank must be >= 1");
  if (options.lora.alpha <= 0) throw Error("lora.alpha must be > 0");
  if (options.lora.dropout < 0 || options.lora.dropout >= 1) throw Error("lora.dropout must be in [0, 1)");
  const auto targets = options.targets.empty() ? default_lora_targets(cfg) : options.targets;
  try {
    plan.adapted = nn::attach_lora(*model, options.lora, targets);
  } catch (const std::invalid_argument& e) {
    throw Error(e.what());
  }
  plan.parameters = nn::freeze_all_but_adapters(*model, options.train_extra);
  for (const auto& extra : options.train_extra) {
    bool used = false;
    for (const auto& p : model->named_parameters()) used = used || nn::lora_target_matches(extra, p.key());
    if (!used) throw Error("lora.train-extra '" + extra + "' matches no parameter of the model");
  }
  return plan;
}

std::string sha256_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(file.string() + ": cannot read");
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) throw Error("SHA-256: cannot initialise");
  std::array<char, 1 << 16> buf;
  while (in) {
    in.read(buf.data(), buf.size());
    if (in.gcount() > 0) EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) throw Error(file.string() + ": read error");
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest;
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), digest.data(), &len);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
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
    p.value().copy_(it->second);
    tensors.erase(it);
  }
  if (!tensors.empty()) throw Error(file.string() + ": tensor '" + tensors.begin()->first + "' names no parameter");
  return metadata;
}

}  // namespace ftmamba::train
