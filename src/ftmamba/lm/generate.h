// defines: generate, what `ftmamba lm generate` runs: each prompt prefilled through the parallel scan, then the
// new tokens decoded one at a time with the recurrent step (conv window plus SSM state, O(1) per token), the
// prompts of a call decoded together as one batch; greedy, or sampled with temperature, top-k and top-p in the
// order Hugging Face's generate applies them. On a CUDA device each decode step after the first two replays one
// captured CUDA graph (ops/cuda_graph_step.h): the step's few hundred small kernels launch as one.
#pragma once
#include <ATen/core/Generator.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "ftmamba/nn/mamba_lm.h"
#include "ftmamba/ops/precision.h"

namespace ftmamba::lm {

struct SamplingOptions {
  int64_t max_new_tokens = 64;
  double temperature = 0.0;       // 0: greedy (the most likely token)
  int64_t top_k = 0;              // 0: every token
  double top_p = 1.0;             // the smallest set of tokens whose probabilities sum to at least top_p
  uint64_t seed = 0;              // sampling's random stream: the same seed gives the same tokens
  std::vector<int64_t> stop_ids;  // a row ends after generating one of these (it is kept in the output)
  bool cuda_graph = true;         // on a CUDA device, decode steps replay a captured graph (false: eager)
  // On a CUDA device, a step runs all the layers in one kernel where it takes them (nn::MambaLM::fused_decode;
  // false: each layer's own kernels).
  bool fused_decode = true;
  // fp32, or bf16: the matmuls under bf16 autocast, for a model whose matrices prepare_for_decoding has cast
  // (the norms, the conv, A, D, the residual stream and the SSM state stay float32).
  ops::Precision precision = ops::Precision::kFp32;
};

// Readies a loaded model for generation in `precision`: no parameter needs a gradient, and for bf16 the
// projections and the embedding (what a decode step reads most) are held in bfloat16. Precisions other than
// fp32 and bf16, or one the device cannot run, are an Error.
void prepare_for_decoding(nn::MambaLMImpl& model, ops::Precision precision);

struct GenerationTimes {
  double prefill_seconds = 0, decode_seconds = 0;
  int64_t prompt_tokens = 0, decoded_tokens = 0;  // decoded: new tokens over all rows, past each row's end excluded
  bool cuda_graph = false;                        // the decode steps replayed a CUDA graph
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
