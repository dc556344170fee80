// defines: is_mamba_ssm_folder, read_mamba_ssm_config, load_mamba_ssm (see mamba_ssm_checkpoint.h).
#include "ftmamba/lm/mamba_ssm_checkpoint.h"

#include "ftmamba/core/error.h"
#include "ftmamba/io/torch_checkpoint.h"
#include "ftmamba/lm/config_keys.h"

namespace ftmamba::lm {
namespace fs = std::filesystem;
namespace {

constexpr const char* kSsmConfigFile = "config.json";
constexpr const char* kSsmWeightsFile = "pytorch_model.bin";

}  // namespace

bool is_mamba_ssm_folder(const fs::path& dir) {
  const auto file = dir / kSsmConfigFile;
  if (!fs::is_regular_file(file)) return false;
  const auto j = config_keys::read_object(file);
  return j.contains("n_layer") && !j.contains("model_type");
}

HfMambaConfig read_mamba_ssm_config(const fs::path& dir) {
  using config_keys::integer;
  const fs::path file = dir / kSsmConfigFile;
  const auto j = config_keys::read_object(file);
  config_keys::require(j, file, "rms_norm", true, "the Mamba checkpoints normalise with RMSNorm");
  config_keys::require(j, file, "tie_embeddings", true, "the LM head is the embedding matrix");
  HfMambaConfig c;
  auto& m = c.model;
  m.d_model = integer(j, file, "d_model", 1, config_keys::kMostDim);
  m.n_layers = integer(j, file, "n_layer", 1, 4096);
  const int64_t vocab = integer(j, file, "vocab_size", 2, int64_t{1} << 24);
  c.pad_vocab_size_multiple = integer(j, file, "pad_vocab_size_multiple", 1, 1 << 16, 8);
  m.vocab_size = (vocab + c.pad_vocab_size_multiple - 1) / c.pad_vocab_size_multiple * c.pad_vocab_size_multiple;
  c.residual_in_fp32 = config_keys::boolean(j, file, "residual_in_fp32", true);
  if (j.contains("ssm_cfg")) {
    const auto& ssm = j["ssm_cfg"];
    if (!ssm.is_object()) throw Error(file.string() + ": key 'ssm_cfg' must be an object, got " + ssm.dump());
    config_keys::require(ssm, file, "layer", "Mamba1", "Mamba-1 mixers");
    for (const auto& [key, value] : ssm.items())
      if (key != "d_state" && key != "d_conv" && key != "expand" && key != "dt_rank" && key != "layer")
        throw Error(file.string() + ": key 'ssm_cfg." + key + "' is not read by ftmamba (it reads d_state, d_conv, " +
                    "expand, dt_rank)");
    m.mixer.d_state = integer(ssm, file, "d_state", 1, 1024, 16);
    m.mixer.d_conv = integer(ssm, file, "d_conv", 1, 64, 4);
    m.mixer.expand = integer(ssm, file, "expand", 1, 64, 2);
    if (ssm.contains("dt_rank") && ssm["dt_rank"] != "auto")
      m.mixer.dt_rank = integer(ssm, file, "dt_rank", 1, config_keys::kMostDim);
  }
  return c;
}

nn::MambaLM load_mamba_ssm(const fs::path& dir, torch::Device device) {
  const auto config = read_mamba_ssm_config(dir);
  const fs::path weights = dir / kSsmWeightsFile;
  if (!fs::exists(weights)) throw Error(weights.string() + ": not found");
  auto tensors = io::read_torch_checkpoint(weights);
  // The one name that differs from transformers'.
  const auto embedding = tensors.find("backbone.embedding.weight");
  if (embedding != tensors.end()) {
    tensors.emplace("backbone.embeddings.weight", embedding->second);
    tensors.erase(embedding);
  }
  return model_from_tensors(config, tensors, weights.string(), device);
}

}  // namespace ftmamba::lm
