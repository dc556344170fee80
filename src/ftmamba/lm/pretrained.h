// defines: PretrainedLM, what the `ftmamba lm` commands load from a model folder, in transformers' layout
// (hf_checkpoint.h) or mamba_ssm's (mamba_ssm_checkpoint.h): the model, its config, and the tokenizer when the
// folder has tokenizer.json.
#pragma once
#include <filesystem>
#include <optional>

#include "ftmamba/lm/hf_checkpoint.h"
#include "ftmamba/lm/tokenizer.h"

namespace ftmamba::lm {

struct PretrainedLM {
  nn::MambaLM model{nullptr};
  HfMambaConfig config;
  std::optional<Tokenizer> tokenizer;  // DIR/tokenizer.json, when present
  std::filesystem::path dir;

  // Errors as load_hf_mamba and Tokenizer::load throw them; a tokenizer whose vocabulary is larger than the
  // model's is an Error naming both sizes.
  static PretrainedLM load(const std::filesystem::path& dir, torch::Device device);
  // The tokenizer, or Error "DIR/tokenizer.json: not found; ..." for a command given text.
  const Tokenizer& require_tokenizer() const;
};

}  // namespace ftmamba::lm
