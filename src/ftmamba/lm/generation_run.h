// defines: run_generation, what `ftmamba lm generate` does between parsing and printing: load a model folder (and
// adapters), tokenize the prompts, ready the model for the precision, generate (streaming one prompt's text as it
// decodes) and decode the completions.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ftmamba/lm/generate.h"

namespace ftmamba::lm {

struct GenerationRequest {
  std::string model_dir, adapters;  // adapters: "" for none
  torch::Device device = torch::kCPU;
  std::vector<int64_t> prompt_ids;        // one prompt given as ids (first), or empty
  std::vector<std::string> prompt_texts;  // prompts as text, tokenized with the folder's tokenizer
  SamplingOptions sampling;               // its stop_ids are set here: the model's eos unless ignore_eos
  bool ignore_eos = false;
  bool stream_text = false;  // one text prompt and a tokenizer: hand its continuation to on_text as it decodes
};

struct GenerationOutcome {
  std::vector<std::vector<int64_t>> prompts;  // each prompt's ids
  std::vector<std::vector<int64_t>> outputs;  // each prompt's new ids
  std::vector<std::string> completions;       // the new ids as text (special tokens skipped); empty without tokenizer
  bool streamed = false;                      // the continuation went to on_text
  GenerationTimes times;
};

// Throws Error for a prompt with no tokens (naming it), a text prompt without a tokenizer, and what loading and
// generate() refuse.
GenerationOutcome run_generation(const GenerationRequest& request,
                                 const std::function<void(const std::string& text)>& on_text = {});

}  // namespace ftmamba::lm
