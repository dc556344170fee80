#include "ftmamba/run/run.h"

#include <fmt/format.h>

#include <set>

#include "ftmamba/core/error.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/io/json_file.h"
#include "ftmamba/io/regular_file.h"
#include "ftmamba/io/safetensors.h"
#include "ftmamba/io/sha256.h"
#include "ftmamba/run/adapters.h"
#include "ftmamba/run/config.h"
#include "ftmamba/run/weight_hashes.h"

namespace ftmamba::run {
namespace fs = std::filesystem;
namespace {

// data.min_weight: only interactions weighing at least min_weight stay, as positives.
void keep_positives(data::Dataset& d, double min_weight) {
  if (!d.schema.interactions.weight)
    throw Error("config: data.min_weight = " + fmt::format("{}", min_weight) +
                " needs a weight column; name it with weight = \"...\" under [interactions] in " +
                (d.dir / "schema.toml").string());
  data::Interactions kept;
  const auto& in = d.interactions;
  for (int64_t r = 0; r < in.size(); ++r) {
    if (in.weight[r] < min_weight) continue;
    kept.user.push_back(in.user[r]);
    kept.item.push_back(in.item[r]);
    kept.timestamp.push_back(in.timestamp[r]);
    kept.weight.push_back(in.weight[r]);
  }
  if (kept.size() == 0)
    throw Error("config: data.min_weight = " + fmt::format("{}", min_weight) + " keeps none of the " +
                std::to_string(in.size()) + " interactions of " + d.dir.string());
  d.interactions = std::move(kept);
}

}  // namespace

PreparedData prepare_data(const fs::path& data_dir, const RunConfig& cfg, const data::FeatureEncoding* user_encoding,
                          const data::FeatureEncoding* item_encoding) {
  PreparedData p;
  p.dataset = data::Dataset::load(data_dir);
  if (cfg.data.min_weight > 0) keep_positives(p.dataset, cfg.data.min_weight);
  p.split = data::split_interactions(p.dataset.interactions, p.dataset.users.size(), cfg.data.split,
                                     static_cast<uint64_t>(cfg.data.split_seed));
  if (p.split.train.empty()) throw Error(data_dir.string() + ": no training interactions after the split");
  // Vocabularies and statistics come from the entities seen in training only.
  std::set<int64_t> train_users, train_items;
  for (int64_t r : p.split.train) {
    train_users.insert(p.dataset.interactions.user[r]);
    train_items.insert(p.dataset.interactions.item[r]);
  }
  const auto mf = cfg.data.min_frequency;
  p.user_encoding = user_encoding
                        ? *user_encoding
                        : data::FeatureEncoding::fit(p.dataset.users, {train_users.begin(), train_users.end()}, mf);
  p.item_encoding = item_encoding
                        ? *item_encoding
                        : data::FeatureEncoding::fit(p.dataset.items, {train_items.begin(), train_items.end()}, mf);
  p.users = p.user_encoding.transform(p.dataset.users);
  p.items = p.item_encoding.transform(p.dataset.items);
  return p;
}

nn::FeatureShape feature_shape(const data::FeatureEncoding& enc) {
  return {enc.n_num(), enc.n_cat(), enc.total_categories(), enc.multi_widths};
}

nn::TwoTower build_model(const RunConfig& cfg, const data::FeatureEncoding& users, const data::FeatureEncoding& items) {
  return nn::TwoTower(cfg.tower("user"), feature_shape(users), cfg.tower("item"), feature_shape(items));
}

int64_t count_parameters(torch::nn::Module& m, bool trainable_only) {
  int64_t n = 0;
  for (const auto& p : m.parameters())
    if (!trainable_only || p.requires_grad()) n += p.numel();
  return n;
}

void save_model(const fs::path& file, torch::nn::Module& model, const std::map<std::string, std::string>& metadata) {
  io::NamedTensors tensors;
  for (const auto& p : model.named_parameters()) tensors.emplace_back(p.key(), p.value());
  for (const auto& b : model.named_buffers()) tensors.emplace_back(b.key(), b.value());
  io::save_safetensors(file, tensors, metadata);
}

void load_model(const fs::path& file, torch::nn::Module& model) {
  auto tensors = io::load_safetensors(file);
  torch::NoGradGuard no_grad;
  auto assign = [&](const std::string& name, torch::Tensor& dst) {
    auto it = tensors.find(name);
    if (it == tensors.end()) throw Error(file.string() + ": missing tensor '" + name + "'");
    if (it->second.sizes() != dst.sizes())
      throw Error(file.string() + ": tensor '" + name + "' has shape " + c10::str(it->second.sizes()) +
                  ", the model expects " + c10::str(dst.sizes()));
    // Float weights saved in another precision load by conversion; an integer tensor is no weight at all.
    if (it->second.is_floating_point() != dst.is_floating_point())
      throw Error(file.string() + ": tensor '" + name + "' has dtype " + c10::toString(it->second.scalar_type()) +
                  ", the model expects " + c10::toString(dst.scalar_type()));
    dst.copy_(it->second);
    tensors.erase(it);
  };
  for (auto& p : model.named_parameters()) assign(p.key(), p.value());
  for (auto& b : model.named_buffers()) assign(b.key(), b.value());
  if (!tensors.empty()) throw Error(file.string() + ": unexpected tensor '" + tensors.begin()->first + "'");
}

namespace {
// A LoRA run's weights: the base run's model (which must be the one the adapters were trained on), its
// adapters attached where they were, then their trained values (and any trained extras) from the adapter file.
void load_lora_weights(Run& run, const fs::path& cfg_file, const nlohmann::json& cfg_json) {
  const auto& ft = run.finetune;
  fs::path base_model;
  std::string recorded_hash;
  FinetuneOptions options;
  std::vector<std::string> adapted;
  try {
    base_model = fs::path(ft.at("base_run").get<std::string>()) / "model.safetensors";
    recorded_hash = ft.at("base_model_sha256").get<std::string>();
    options = FinetuneOptions::from_json(ft);
    adapted = ft.at("adapted").get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(cfg_file.string() + ": finetune: " + e.what());
  }
  if (!fs::exists(base_model))
    throw Error(run.dir.string() + ": a LoRA run needs its base model, " + base_model.string() + ", which is missing");
  if (const auto hash = io::sha256_file(base_model); hash != recorded_hash)
    throw Error(base_model.string() + ": SHA-256 " + hash + " differs from " + recorded_hash +
                ", the base these adapters were trained on");
  load_model(base_model, *run.model);
  nn::attach_lora(*run.model, options.lora, adapted);  // full paths: each matches its own projection
  verify_weight_hash(cfg_json, run.dir / "adapters.safetensors");
  load_adapters(run.dir / "adapters.safetensors", *run.model);
}
}  // namespace

nlohmann::json Run::config_json() const {
  nlohmann::json j;
  j["format"] = "ftmamba-run";
  j["version"] = 1;
  j["data_dir"] = data_dir.string();
  j["config"] = config.to_json();
  j["preprocessing"] = {{"users", user_encoding.to_json()}, {"items", item_encoding.to_json()}};
  if (!finetune.is_null()) j["finetune"] = finetune;
  return j;
}

Run Run::load(const fs::path& dir, torch::Device device) {
  const fs::path cfg_file = dir / "config.json", model_file = dir / "model.safetensors";
  if (!fs::is_directory(dir)) throw Error(dir.string() + ": no such run folder");
  io::require_regular_file(cfg_file);
  nlohmann::json j = io::read_json_file(cfg_file);
  Run run;
  run.dir = dir;
  try {
    if (j.value("format", "") != "ftmamba-run") throw Error(cfg_file.string() + ": not an ftmamba run config");
    run.data_dir = j.at("data_dir").get<std::string>();
    run.config = RunConfig::from_json(j.at("config"));
    run.user_encoding = data::FeatureEncoding::from_json(j.at("preprocessing").at("users"));
    run.item_encoding = data::FeatureEncoding::from_json(j.at("preprocessing").at("items"));
  } catch (const nlohmann::json::exception& e) {
    throw Error(cfg_file.string() + ": " + e.what());
  }
  try {
    run.config.validate();  // the rules train applies, so a hand-edited config.json fails here, naming the key
  } catch (const Error& e) {
    throw Error(cfg_file.string() + ": " + e.what());
  }
  if (j.contains("finetune")) run.finetune = j["finetune"];
  run.model = build_model(run.config, run.user_encoding, run.item_encoding);
  if (!fs::exists(model_file) && run.is_lora()) {
    load_lora_weights(run, cfg_file, j);
  } else {
    if (fs::exists(model_file)) verify_weight_hash(j, model_file);
    load_model(model_file, *run.model);
  }
  run.model->to(device);
  run.model->eval();
  return run;
}

}  // namespace ftmamba::run
