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

// Checks the whole header before allocating anything: the header size (at most 100 MB, within the file), valid
// JSON, a known dtype, a non-negative shape whose byte count does not overflow, data_offsets inside the data and
// exactly numel * element size long, and no two tensors' bytes overlapping. Only regular files are read.
// Throws Error naming the file, and the tensor when one is at fault.
std::map<std::string, torch::Tensor> load_safetensors(const std::filesystem::path& path,
                                                      std::map<std::string, std::string>* metadata = nullptr);

}  // namespace ftmamba::io
