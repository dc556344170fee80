// defines: reading a Mamba language model in the layout of the original mamba_ssm package (state-spaces/mamba-130m
// and its siblings as first published): config.json with d_model, n_layer, vocab_size, ssm_cfg, rms_norm,
// residual_in_fp32, fused_add_norm, pad_vocab_size_multiple, tie_embeddings; and pytorch_model.bin, a torch.save
// zip of the state dict, read natively (io/torch_checkpoint.h: no Python, and no pickle code can run). Tensor
// names are transformers' but for backbone.embedding.weight (transformers: backbone.embeddings.weight).
#pragma once
#include <filesystem>

#include "ftmamba/lm/hf_checkpoint.h"

namespace ftmamba::lm {

// Whether DIR/config.json is mamba_ssm's (it names n_layer and no model_type).
bool is_mamba_ssm_folder(const std::filesystem::path& dir);

// DIR/config.json as HfMambaConfig: vocab_size padded up to a multiple of pad_vocab_size_multiple, as mamba_ssm
// sizes its embedding. Throws Error naming the file and the key for a missing or mistyped key, and for a model this
// implementation does not run (rms_norm false, untied embeddings, an ssm_cfg layer other than Mamba1).
HfMambaConfig read_mamba_ssm_config(const std::filesystem::path& dir);

// The model of DIR (config.json and pytorch_model.bin) on `device`, in float32. Errors as read_torch_checkpoint
// and model_from_tensors throw them.
nn::MambaLM load_mamba_ssm(const std::filesystem::path& dir, torch::Device device = torch::kCPU);

}  // namespace ftmamba::lm
