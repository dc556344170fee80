// defines: PretrainedLM (see pretrained.h).
#include "ftmamba/lm/pretrained.h"

#include "ftmamba/core/error.h"
#include "ftmamba/lm/mamba_ssm_checkpoint.h"

namespace ftmamba::lm {

PretrainedLM PretrainedLM::load(const std::filesystem::path& dir, torch::Device device,
                                const std::filesystem::path& adapters) {
  PretrainedLM lm;
  lm.dir = dir;
  if (is_mamba_ssm_folder(dir)) {
    lm.config = read_mamba_ssm_config(dir);
    lm.model = load_mamba_ssm(dir, device);
  } else {
    lm.config = read_hf_mamba_config(dir);
    lm.model = load_hf_mamba(dir, device);
  }
  if (!adapters.empty()) {
    if (!is_peft_folder(adapters))
      throw Error(adapters.string() +
                  ": not a folder of LoRA adapters (adapter_config.json and "
                  "adapter_model.safetensors)");
    lm.adapters = load_peft_adapters(*lm.model, adapters);
    lm.model->eval();
  }
  const auto tokenizer_file = !adapters.empty() && std::filesystem::exists(adapters / kTokenizerFile)
                                  ? adapters / kTokenizerFile
                                  : dir / kTokenizerFile;
  if (std::filesystem::exists(tokenizer_file)) {
    lm.tokenizer = Tokenizer::load(tokenizer_file);
    lm.tokenizer_file = tokenizer_file;
    // The checkpoints pad the embedding past the tokenizer (50,280 rows for GPT-NeoX's 50,277 ids), never under.
    if (lm.tokenizer->vocab_size() > lm.config.model.vocab_size)
      throw Error(tokenizer_file.string() + ": " + std::to_string(lm.tokenizer->vocab_size()) +
                  " token ids, more than the model's vocab_size " + std::to_string(lm.config.model.vocab_size) +
                  " (config.json): the tokenizer is not this model's");
    // mamba_ssm's config.json names no end-of-text token: GPT-NeoX's, when the tokenizer has it.
    if (lm.config.eos_token_id < 0)
      if (const auto eos = lm.tokenizer->token_id("<|endoftext|>")) lm.config.eos_token_id = *eos;
  }
  return lm;
}

const Tokenizer& PretrainedLM::require_tokenizer() const {
  if (!tokenizer)
    throw Error((dir / kTokenizerFile).string() +
                ": not found; text needs the model's tokenizer (give token ids with --ids instead)");
  return *tokenizer;
}

}  // namespace ftmamba::lm
