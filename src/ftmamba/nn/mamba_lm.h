// defines: MambaLM, a causal language model in mamba_ssm's MambaLMHeadModel layout: token embedding ->
// n x (x + Mamba(RMSNorm(x))) -> RMSNorm -> tied LM head (logits = h E^T). The residual stream stays in the
// norms' dtype (float32 under autocast, as mamba_ssm's residual_in_fp32). It exists to measure fine-tuning
// at language-model shapes (`ftmamba bench finetune`; its loss is train::causal_lm_loss); the recommendation
// towers are FTMambaEncoder.
// Names: embedding.weight, layers.{i}.mixer.*, layers.{i}.norm.weight, norm_f.weight.
#pragma once
#include <string>
#include <vector>

#include "ftmamba/nn/ft_mamba.h"
#include "ftmamba/ops/decode_layers.h"

namespace ftmamba::nn {

struct MambaLMConfig {
  int64_t vocab_size = 50280;  // GPT-NeoX's tokenizer, as the Mamba checkpoints (already a multiple of 8)
  int64_t d_model = 768;
  int64_t n_layers = 24;
  MambaConfig mixer;  // d_model is taken from above
};

// The shapes of the published Mamba checkpoints: "130m" (24 layers x d 768), "370m" (48 x 1024),
// "790m" (48 x 1536), "1.4b" (48 x 2048). Throws std::invalid_argument for another name.
MambaLMConfig mamba_lm_shape(const std::string& name);
std::vector<std::string> mamba_lm_shape_names();

class MambaLMImpl : public torch::nn::Module {
 public:
  explicit MambaLMImpl(const MambaLMConfig& cfg);
  // tokens (batch, L) int64 -> logits (batch, L, vocab)
  torch::Tensor forward(const torch::Tensor& tokens);

  // After the final norm: tokens (batch, L) -> (batch, L, d_model), float32.
  torch::Tensor hidden_states(const torch::Tensor& tokens);

  // Generation. prefill runs a prompt through the parallel scan and returns the logits of its last position,
  // (batch, L) -> (batch, vocab) float32, leaving in `state` each layer's state after it; step takes one token per
  // row after `state`, (batch) -> (batch, vocab), and moves the state on: O(1) per token in the length so far.
  torch::Tensor prefill(const torch::Tensor& tokens, std::vector<MambaState>& state);
  torch::Tensor step(const torch::Tensor& tokens, std::vector<MambaState>& state);
  // The layers as ops::decode_layers takes them, with `state`; empty when a layer has an adapter or a bias.
  std::vector<ops::DecodeLayer> decode_layers(std::vector<MambaState>& state);

  MambaLMConfig cfg;
  // In training, each layer's activations are recomputed in the backward instead of kept (recompute_in_backward):
  // for long contexts, at the cost of a second forward.
  bool gradient_checkpointing = false;
  // step runs every layer in one kernel where ops::decode_layers takes them (a GPU, no adapters); false keeps the
  // per-layer kernels (the comparison of the two, and a way around the one-kernel step).
  bool fused_decode = true;
  torch::nn::Embedding embedding{nullptr};  // (vocab, d_model), also the LM head's weight
  torch::nn::ModuleList layers;
  RMSNorm norm_f{nullptr};
};
TORCH_MODULE(MambaLM);

// Casts every frozen (requires_grad false) floating parameter of the projections and the embedding to `dtype`;
// returns how many were cast. The matrices are what a step reads most: LoRA in mixed precision keeps its frozen
// base in bf16, and a bf16 decode its whole model.
int64_t cast_frozen_weights(torch::nn::Module& model, torch::ScalarType dtype);

}  // namespace ftmamba::nn
