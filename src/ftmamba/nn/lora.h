// defines: LoRA over a whole model: attaching adapters to the projections named by glob targets, freezing
// all but the adapters (and chosen extras), counting trainable parameters, and merging adapters back.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "ftmamba/nn/encoder.h"
#include "ftmamba/nn/projection.h"

namespace ftmamba::nn {

// The targets `finetune` uses when none are given: FT-Mamba's Mamba projections (in_proj, x_proj, dt_proj,
// out_proj); FT-Transformer's attention (W_q, W_k, W_v, W_out) and FFN layers (linear_first / linear_second,
// or linear1 / linear2 in the stock variant). Throws std::invalid_argument for an unknown encoder type.
std::vector<std::string> lora_default_targets(EncoderType encoder_type);

// True when `pattern` (a glob: * and ? wildcards) matches the dotted module path, or its last component:
// "in_proj" matches "user_tower.layers.0.mixer.in_proj", as does "*.mixer.*_proj".
bool lora_target_matches(const std::string& pattern, const std::string& module_path);

// Attaches an adapter to every Projection whose path matches a target and returns their paths, in model
// order. Throws std::invalid_argument, naming the model's projections, when a target matches none.
std::vector<std::string> attach_lora(torch::nn::Module& model, const LoraOptions& options,
                                     const std::vector<std::string>& targets);

// Leaves requires_grad on the adapters' parameters and on those whose name matches one of `extra` (globs
// over the full dotted parameter name or its last component, e.g. "*head*", "*norm*"), and turns it off
// for every other parameter.
struct ParameterCount {
  int64_t trainable = 0;
  int64_t total = 0;
};
ParameterCount freeze_all_but_adapters(torch::nn::Module& model, const std::vector<std::string>& extra = {});
ParameterCount count_parameters(const torch::nn::Module& model);

// True for the parameters an adapter adds (".lora_A." / ".lora_B." in the name).
bool is_lora_parameter(const std::string& name);

// Folds every adapter into its weight (see ProjectionImpl::merge_lora); returns how many were merged.
int64_t merge_lora(torch::nn::Module& model);

}  // namespace ftmamba::nn
