// defines: read_hf_mamba_config, load_hf_mamba, save_hf_mamba and hf_name (see hf_checkpoint.h).
#include "ftmamba/lm/hf_checkpoint.h"

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "ftmamba/core/error.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/io/json_file.h"
#include "ftmamba/io/safetensors.h"
#include "ftmamba/lm/config_keys.h"

namespace ftmamba::lm {
namespace fs = std::filesystem;
using config_keys::boolean;
using config_keys::integer;
using config_keys::kMostDim;
using config_keys::require;
namespace {

constexpr const char* kConfigFile = "config.json";
constexpr const char* kWeightsFile = "model.safetensors";
constexpr const char* kShardIndexFile = "model.safetensors.index.json";
constexpr const char* kLmHead = "lm_head.weight";

// The checkpoint's tensors: model.safetensors, or every shard model.safetensors.index.json names.
std::map<std::string, torch::Tensor> read_tensors(const fs::path& dir) {
  const fs::path index_path = dir / kShardIndexFile;
  if (!fs::exists(index_path)) return io::load_safetensors(dir / kWeightsFile);
  const auto index = config_keys::read_object(index_path);
  if (!index.contains("weight_map") || !index["weight_map"].is_object())
    throw Error(index_path.string() + ": key 'weight_map' is missing or not an object");
  std::map<std::string, std::string> shard_of;
  std::set<std::string> shards;
  for (const auto& [name, file] : index["weight_map"].items()) {
    if (!file.is_string()) throw Error(index_path.string() + ": weight_map['" + name + "'] must be a file name");
    const auto shard = file.get<std::string>();
    // A shard is a file of this folder: no path, so that an index cannot make us read elsewhere.
    if (shard.empty() || shard.find('/') != std::string::npos || shard.find('\\') != std::string::npos ||
        shard == "." || shard == "..")
      throw Error(index_path.string() + ": weight_map['" + name + "'] names '" + shard +
                  "', not a file of the checkpoint's folder");
    shard_of[name] = shard;
    shards.insert(shard);
  }
  std::map<std::string, torch::Tensor> out;
  for (const auto& shard : shards) {
    for (auto& [name, tensor] : io::load_safetensors(dir / shard)) {
      const auto listed = shard_of.find(name);
      if (listed == shard_of.end() || listed->second != shard)
        throw Error((dir / shard).string() + ": tensor '" + name + "' is not listed for this shard in " +
                    index_path.string());
      out.emplace(name, std::move(tensor));
    }
  }
  for (const auto& [name, shard] : shard_of)
    if (!out.count(name))
      throw Error((dir / shard).string() + ": tensor '" + name + "' listed in the index is missing");
  return out;
}

}  // namespace

std::string hf_name(const std::string& parameter) {
  if (parameter == "embedding.weight") return "backbone.embeddings.weight";
  return "backbone." + parameter;
}

HfMambaConfig read_hf_mamba_config(const fs::path& dir) {
  const fs::path file = dir / kConfigFile;
  const auto j = config_keys::read_object(file);
  require(j, file, "model_type", "mamba", "a Mamba-1 language model");
  require(j, file, "use_bias", false, "in_proj and out_proj have no bias in the Mamba checkpoints");
  require(j, file, "use_conv_bias", true, "the depthwise conv has a bias in the Mamba checkpoints");
  require(j, file, "hidden_act", "silu", "the conv and the gate use SiLU");
  require(j, file, "tie_word_embeddings", true, "the LM head is the embedding matrix");
  HfMambaConfig c;
  auto& m = c.model;
  m.d_model = integer(j, file, "hidden_size", 1, kMostDim);
  m.n_layers = integer(j, file, "num_hidden_layers", 1, 4096);
  m.vocab_size = integer(j, file, "vocab_size", 2, int64_t{1} << 24);
  m.mixer.d_state = integer(j, file, "state_size", 1, 1024, 16);
  m.mixer.expand = integer(j, file, "expand", 1, 64, 2);
  m.mixer.d_conv = integer(j, file, "conv_kernel", 1, 64, 4);
  if (j.contains("time_step_rank") && j["time_step_rank"] == "auto") {
    m.mixer.dt_rank = 0;  // ceil(hidden_size / 16), as MambaConfig computes it
  } else {
    m.mixer.dt_rank = integer(j, file, "time_step_rank", 1, kMostDim, 0);
  }
  if (j.contains("layer_norm_epsilon")) {
    if (!j["layer_norm_epsilon"].is_number() || !(j["layer_norm_epsilon"].get<double>() > 0) ||
        !(j["layer_norm_epsilon"].get<double>() < 1))
      throw Error(file.string() + ": key 'layer_norm_epsilon' must be a number in (0, 1), got " +
                  j["layer_norm_epsilon"].dump());
    c.layer_norm_epsilon = j["layer_norm_epsilon"].get<double>();
  }
  c.residual_in_fp32 = boolean(j, file, "residual_in_fp32", true);
  c.pad_vocab_size_multiple = integer(j, file, "pad_vocab_size_multiple", 1, 1 << 16, 8);
  if (j.contains("eos_token_id") && !j["eos_token_id"].is_null())
    c.eos_token_id = integer(j, file, "eos_token_id", 0, m.vocab_size - 1);
  return c;
}

nn::MambaLM load_hf_mamba(const fs::path& dir, torch::Device device) {
  const auto config = read_hf_mamba_config(dir);
  const std::string where = (fs::exists(dir / kShardIndexFile) ? dir / kShardIndexFile : dir / kWeightsFile).string();
  return model_from_tensors(config, read_tensors(dir), where, device);
}

nn::MambaLM model_from_tensors(const HfMambaConfig& config, const std::map<std::string, torch::Tensor>& tensors,
                               const std::string& where, torch::Device device) {
  nn::MambaLM model(config.model);
  for (auto& layer : *model->layers) layer->as<nn::MambaResidualLayerImpl>()->norm->eps = config.layer_norm_epsilon;
  model->norm_f->eps = config.layer_norm_epsilon;
  std::set<std::string> used;
  {
    torch::NoGradGuard no_grad;
    for (auto& item : model->named_parameters()) {
      auto& param = item.value();
      const std::string key = hf_name(item.key());
      const auto it = tensors.find(key);
      if (it == tensors.end()) throw Error(where + ": tensor '" + key + "' is missing");
      if (it->second.sizes() != param.sizes())
        throw Error(where + ": tensor '" + key + "' has shape " + c10::str(it->second.sizes()) +
                    ", config.json gives " + c10::str(param.sizes()));
      if (!it->second.is_floating_point())
        throw Error(where + ": tensor '" + key + "' is " + std::string(c10::toString(it->second.scalar_type())) +
                    ", not floating point");
      param.copy_(it->second.to(torch::kFloat32));
      used.insert(key);
    }
  }
  for (const auto& [key, tensor] : tensors) {
    if (used.count(key)) continue;
    if (key == kLmHead) {  // tied: the embedding matrix again, when written at all
      if (tensor.sizes() != model->embedding->weight.sizes())
        throw Error(where + ": tensor '" + key + "' has shape " + c10::str(tensor.sizes()) + ", the embeddings " +
                    c10::str(model->embedding->weight.sizes()));
      continue;
    }
    throw Error(where + ": unexpected tensor '" + key + "' (not a parameter of the model config.json describes)");
  }
  for (const auto& p : model->parameters())
    if (!torch::isfinite(p).all().item<bool>()) throw Error(where + ": a weight is not finite");
  model->to(device);
  model->eval();
  return model;
}

void save_hf_mamba(nn::MambaLMImpl& model, const HfMambaConfig& config, const fs::path& dir) {
  const auto& m = model.cfg;
  nlohmann::ordered_json j = {{"architectures", {"MambaForCausalLM"}},
                              {"model_type", "mamba"},
                              {"hidden_size", m.d_model},
                              {"num_hidden_layers", m.n_layers},
                              {"vocab_size", m.vocab_size},
                              {"state_size", m.mixer.d_state},
                              {"expand", m.mixer.expand},
                              {"conv_kernel", m.mixer.d_conv},
                              {"time_step_rank", m.mixer.rank()},
                              {"intermediate_size", m.mixer.d_inner()},
                              {"layer_norm_epsilon", config.layer_norm_epsilon},
                              {"use_bias", false},
                              {"use_conv_bias", true},
                              {"hidden_act", "silu"},
                              {"residual_in_fp32", config.residual_in_fp32},
                              {"tie_word_embeddings", true},
                              {"pad_vocab_size_multiple", config.pad_vocab_size_multiple},
                              {"torch_dtype", "float32"}};
  if (config.eos_token_id >= 0) j["eos_token_id"] = config.eos_token_id;
  fs::create_directories(dir);
  io::NamedTensors tensors;
  for (const auto& item : model.named_parameters())
    tensors.emplace_back(hf_name(item.key()), item.value().detach().to(torch::kCPU).contiguous());
  io::save_safetensors(dir / kWeightsFile, tensors, {{"format", "pt"}});
  io::write_file_atomic(dir / kConfigFile, j.dump(2) + "\n");
}

}  // namespace ftmamba::lm
