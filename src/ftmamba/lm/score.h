// defines: score_tokens, what `ftmamba lm score` computes: the log-likelihood of each token of a sequence given
// the ones before it, under a Mamba language model, with the logits it came from.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "ftmamba/nn/mamba_lm.h"

namespace ftmamba::lm {

struct TokenScores {
  torch::Tensor logits;                // (L, vocab) float32 on the CPU: position t predicts token t + 1
  std::vector<double> log_likelihood;  // (L - 1): log p(token t | tokens < t), t = 1 .. L-1
  double total() const;                // their sum
};

// ids: the token ids, at least 1, each in [0, vocab). Throws Error naming the first id out of range.
TokenScores score_tokens(nn::MambaLMImpl& model, const std::vector<int64_t>& ids);

}  // namespace ftmamba::lm
