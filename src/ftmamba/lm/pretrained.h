// defines: PretrainedLM, what the `ftmamba lm` commands load from a model folder, in transformers' layout
// (hf_checkpoint.h) or mamba_ssm's (mamba_ssm_checkpoint.h): the model, its config, and the tokenizer when the
// folder has tokenizer.json.
#pragma once
#include <filesystem>
#include <optional>

#include "ftmamba/lm/hf_checkpoint.h"
#include "ftmamba/lm/peft_adapters.h"
#include "ftmamba/lm/tokenizer.h"

namespace ftmamba::lm {

struct PretrainedLM {
  nn::MambaLM model{nullptr};
  HfMambaConfig config;
  std::optional<Tokenizer> tokenizer;         // DIR/tokenizer.json, when present
  std::filesystem::path tokenizer_file;       // the file `tokenizer` was read from
  std::optional<PeftAdapterConfig> adapters;  // the LoRA adapters loaded on top, when given
  std::filesystem::path dir;

  // Errors as load_hf_mamba and Tokenizer::load throw them; a tokenizer whose vocabulary is larger than the
  // model's is an Error naming both sizes.
  // `adapters`: a folder of PEFT LoRA adapters (lm finetune's output, or PEFT's) to load on top; its own
  // tokenizer.json, when it has one, replaces the model's.
  static PretrainedLM load(const std::filesystem::path& dir, torch::Device device,
                           const std::filesystem::path& adapters = {});
  // The tokenizer, or Error "DIR/tokenizer.json: not found; ..." for a command given text.
  const Tokenizer& require_tokenizer() const;
};

}  // namespace ftmamba::lm
