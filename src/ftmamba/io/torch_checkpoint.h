// defines: read_torch_checkpoint, the tensors of a state dict saved by torch.save (the zip format of PyTorch 1.6 and
// later: data.pkl and data/N records), as mamba_ssm's pytorch_model.bin holds them. The zip is read by LibTorch's
// PyTorchStreamReader; data.pkl by ftmamba's own restricted unpickler, since LibTorch 1.13's pickle_load fails on
// a state dict (an OrderedDict). The unpickler knows only what a state dict of tensors is built from
// (collections.OrderedDict, torch._utils._rebuild_tensor_v2 and _rebuild_parameter, the typed storages): any
// other global is refused by name, so a checkpoint can never run code, unlike Python's torch.load without
// weights_only.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>

namespace ftmamba::io {

// name -> tensor (contiguous, on the CPU, in the file's dtype). Throws Error naming the file for a file that is
// not such an archive, a pickle it cannot read (the opcode and its offset), a global outside the list above, or a
// tensor whose size, strides and offset reach outside its storage.
std::map<std::string, torch::Tensor> read_torch_checkpoint(const std::filesystem::path& path);

}  // namespace ftmamba::io
