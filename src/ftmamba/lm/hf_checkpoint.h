// defines: reading and writing a Mamba language model in Hugging Face transformers' MambaForCausalLM layout: a
// folder with config.json (MambaConfig: hidden_size, num_hidden_layers, state_size, expand, conv_kernel,
// time_step_rank, vocab_size, layer_norm_epsilon, use_bias, use_conv_bias, tie_word_embeddings, ...) and
// model.safetensors, or shards listed by model.safetensors.index.json; tensors named backbone.embeddings.weight,
// backbone.layers.N.norm.weight, backbone.layers.N.mixer.{in_proj,conv1d,x_proj,dt_proj,out_proj,A_log,D},
// backbone.norm_f.weight and lm_head.weight (tied to the embeddings).
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>

#include "ftmamba/nn/mamba_lm.h"

namespace ftmamba::lm {

// The model config.json describes, as MambaLMConfig, plus what the layout needs beyond it.
struct HfMambaConfig {
  nn::MambaLMConfig model;
  double layer_norm_epsilon = 1e-5;
  bool residual_in_fp32 = true;
  int64_t pad_vocab_size_multiple = 8;
  int64_t eos_token_id = -1;  // the token that ends a generation (GPT-NeoX's <|endoftext|> is 0); -1: none given
};

// Reads DIR/config.json. Throws Error naming the file and the key for a missing or mistyped field, a value out of
// range, or a model this implementation does not run (model_type other than "mamba", biases on in_proj / out_proj,
// no conv bias, an activation other than SiLU, untied embeddings).
HfMambaConfig read_hf_mamba_config(const std::filesystem::path& dir);

// The model config.json describes, with the weights of model.safetensors or its shards, on `device` in float32
// (a bf16 or fp16 checkpoint is widened: A_log, D and the dt bias are float32 in the published ones anyway).
// Throws Error naming the file and the tensor for a missing, unexpected or misshapen tensor, and the shard index
// for a shard it names that is missing or outside the folder.
nn::MambaLM load_hf_mamba(const std::filesystem::path& dir, torch::Device device = torch::kCPU);

// The model `config` describes with the weights `tensors` holds under transformers' names (hf_name), on `device`
// in float32; what load_hf_mamba does once it has read the files. Errors name `where` and the tensor.
nn::MambaLM model_from_tensors(const HfMambaConfig& config, const std::map<std::string, torch::Tensor>& tensors,
                               const std::string& where, torch::Device device);

// Writes `model` to DIR (created when missing) as config.json and model.safetensors in the layout above, each
// through a temporary name and a rename. The tied lm_head.weight is not written, as transformers' save_pretrained
// leaves it out; load_hf_mamba accepts it present or absent.
void save_hf_mamba(nn::MambaLMImpl& model, const HfMambaConfig& config, const std::filesystem::path& dir);

// The checkpoint's name of a parameter of nn::MambaLM ("layers.0.mixer.A_log" -> "backbone.layers.0.mixer.A_log").
std::string hf_name(const std::string& parameter);

}  // namespace ftmamba::lm
