// defines: PreparedData (a dataset with its split and fitted feature encodings) and Run (a run folder:
// config.json, model.safetensors, metrics.json, history.jsonl), with loading and saving.
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>

#include "ftmamba/data/dataset.h"
#include "ftmamba/data/preprocess.h"
#include "ftmamba/data/split.h"
#include "ftmamba/nn/two_tower.h"
#include "ftmamba/run/config.h"

namespace ftmamba::run {

struct PreparedData {
  data::Dataset dataset;
  data::Split split;
  data::FeatureEncoding user_encoding, item_encoding;
  data::EncodedFeatures users, items;  // every user / item, encoded
};

// Loads the dataset, splits it, and fits the encodings on the training split (or reuses the given
// ones, as eval / recommend do with the run's saved encodings).
PreparedData prepare_data(const std::filesystem::path& data_dir, const RunConfig& cfg,
                          const data::FeatureEncoding* user_encoding = nullptr,
                          const data::FeatureEncoding* item_encoding = nullptr);

nn::FeatureShape feature_shape(const data::FeatureEncoding& enc);
nn::TwoTower build_model(const RunConfig& cfg, const data::FeatureEncoding& users, const data::FeatureEncoding& items);
int64_t count_parameters(torch::nn::Module& m, bool trainable_only = false);

// Model weights: every parameter under its full name (user_tower.layers.0.mixer.in_proj.weight, ...).
void save_model(const std::filesystem::path& file, torch::nn::Module& model,
                const std::map<std::string, std::string>& metadata = {});
void load_model(const std::filesystem::path& file, torch::nn::Module& model);

struct Run {
  std::filesystem::path dir;
  std::filesystem::path data_dir;  // the dataset the run was trained on
  RunConfig config;
  data::FeatureEncoding user_encoding, item_encoding;
  nn::TwoTower model{nullptr};
  // Null for a trained run. A fine-tuned run: {"mode": "lora" | "full", "base_run", "base_model_sha256",
  // the LoRA options, "adapted" (the projections with adapters), "trainable_parameters", ...}.
  nlohmann::json finetune;

  // Reads config.json and the weights, with the model on `device`: model.safetensors, or for a LoRA run
  // (which has none) the base run's model.safetensors, checked against the recorded SHA-256, plus
  // adapters.safetensors. Throws Error naming the file when one is missing or bad.
  static Run load(const std::filesystem::path& dir, torch::Device device = torch::kCPU);
  bool is_lora() const { return finetune.is_object() && finetune.value("mode", "") == "lora"; }
  nlohmann::json config_json() const;  // what config.json holds
};

}  // namespace ftmamba::run
