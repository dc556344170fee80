// defines: generate, what `ftmamba lm generate` runs: each prompt prefilled through the parallel scan, then the
// new tokens decoded one at a time with the recurrent step (conv window plus SSM state, O(1) per token), the
// prompts of a call decoded together as one batch; greedy, or sampled with temperature, top-k and top-p in the
// order Hugging Face's generate applies them.
#pragma once
#include <ATen/core/Generator.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "ftmamba/nn/mamba_lm.h"

namespace ftmamba::lm {

struct SamplingOptions {
  int64_t max_new_tokens = 64;
  double temperature = 0.0;       // 0: greedy (the most likely token)
  int64_t top_k = 0;              // 0: every token
  double top_p = 1.0;             // the smallest set of tokens whose probabilities sum to at least top_p
  uint64_t seed = 0;              // sampling's random stream: the same seed gives the same tokens
  std::vector<int64_t> stop_ids;  // a row ends after generating one of these (it is kept in the output)
};

struct GenerationTimes {
  double prefill_seconds = 0, decode_seconds = 0;
  int64_t prompt_tokens = 0, decoded_tokens = 0;  // decoded: new tokens over all rows, past each row's end excluded
};

// The new tokens of each prompt (each prompt at least one id, each id in [0, vocab): Error naming the first one
// out of range). on_token(row, id), when given, sees each token as it is chosen. Options out of range (a negative
// temperature, top_p outside (0, 1]) are an Error.
std::vector<std::vector<int64_t>> generate(nn::MambaLMImpl& model, const std::vector<std::vector<int64_t>>& prompts,
                                           const SamplingOptions& options,
                                           const std::function<void(size_t, int64_t)>& on_token = {},
                                           GenerationTimes* times = nullptr);

// The next token of each row of logits (batch, vocab) under `options` (greedy, or sampled from `generator`).
torch::Tensor choose_next_tokens(const torch::Tensor& logits, const SamplingOptions& options, at::Generator& generator);

}  // namespace ftmamba::lm
