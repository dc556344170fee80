// defines: linear_cross_entropy, the language-model head and its loss fused: mean cross-entropy of
// logits = hidden W^T against targets, formed chunk by chunk of rows so that the (rows, vocab) logits, their
// float32 log-softmax and its gradient are never all in memory at once. With a vocabulary of 50,280 those are
// the largest tensors of a fine-tuning step (4,092 rows: 0.8 GB each in float32). The forward also forms the
// gradients with respect to hidden and W, so the backward only scales them. And causal_lm_loss, the next-token
// loss of a MambaLM through it.
#pragma once
#include <torch/torch.h>

#include "ftmamba/nn/mamba_lm.h"

namespace ftmamba::train {

// hidden (rows, d), weight (vocab, d), targets (rows) int64 in [0, vocab) -> () mean cross-entropy, float32
// (float64 for float64 inputs). The matmuls run in the autocast dtype while autocast is on (else in hidden's
// dtype); the log-softmax, the loss and the gradients in float32 (float64). chunk_rows <= 0: as many rows as keep one
// chunk's logits near 2^24 elements. Gradients flow to hidden and weight as the unfused softmax cross-entropy of the
// same matmul would give them.
torch::Tensor linear_cross_entropy(const torch::Tensor& hidden, const torch::Tensor& weight,
                                   const torch::Tensor& targets, int64_t chunk_rows = 0);

// Mean next-token cross-entropy of a MambaLM over positions 0..L-2 (each predicts the token after it), through
// its tied head: tokens (batch, L) -> () float32. Throws std::invalid_argument for L < 2.
torch::Tensor causal_lm_loss(nn::MambaLM& model, const torch::Tensor& tokens, int64_t chunk_rows = 0);

// The same loss over the target tokens only (a response, not its prompt): tokens (batch, L) and targets
// (batch, L), nonzero where the token at that position is one the loss predicts (from the positions before it; a
// target at position 0 has none and is not counted) -> () the mean over the targets. Padding is a non-target.
torch::Tensor masked_causal_lm_loss(nn::MambaLM& model, const torch::Tensor& tokens, const torch::Tensor& targets,
                                    int64_t chunk_rows = 0);

}  // namespace ftmamba::train
