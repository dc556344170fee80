// defines: merge_adapters, what `ftmamba lm merge` does: a base model with LoRA adapters (lm finetune's or PEFT's)
// folded into one plain model folder in transformers' layout (W + alpha / r B A for each adapted projection), so
// that anything that reads MambaForCausalLM runs the fine-tuned model without PEFT, at the base model's speed.
#pragma once
#include <filesystem>

namespace ftmamba::lm {

struct MergeRequest {
  std::filesystem::path model_dir, adapters, out;
  bool force = false;  // replace an earlier output (never a folder ftmamba did not write)
};

// Returns how many projections were merged. The output is written whole or not at all (io::StagedDir), with the
// model's tokenizer.json (the adapters' when they carry one). Errors as PretrainedLM::load and StagedDir throw them.
int64_t merge_adapters(const MergeRequest& request);

}  // namespace ftmamba::lm
