// defines: save_safetensors / load_safetensors, the Hugging Face safetensors format
// (8-byte little-endian header length, JSON header with dtype/shape/data_offsets, raw little-endian data).
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace ftmamba::io {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// Tensors are written contiguous, on CPU, in their own dtype (F64, F32, F16, BF16, I64, I32, U8, BOOL).
// Written atomically (temporary name + rename). metadata goes to "__metadata__" (string -> string).
void save_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Throws Error naming the file for a truncated or malformed file.
std::map<std::string, torch::Tensor> load_safetensors(const std::filesystem::path& path,
                                                      std::map<std::string, std::string>* metadata = nullptr);

}  // namespace ftmamba::io
