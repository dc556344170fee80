// defines: choose_device, which turns a --device value (auto | cpu | cuda | cuda:N) into a torch::Device, and
// module_device, the device a module's parameters live on.
#pragma once
#include <torch/torch.h>

#include <string>

namespace ftmamba {

// "auto" (the default everywhere) is the first GPU when one is visible and this build has the CUDA kernels,
// else the CPU. Asking for a GPU that is not there throws Error with the reason.
torch::Device choose_device(const std::string& spec);

// "cpu", or "cuda:N (<GPU name>)" for a GPU: what reports say the work ran on.
std::string describe_device(torch::Device device);

// Where m's first parameter lives (the CPU for a module without parameters).
torch::Device module_device(const torch::nn::Module& m);

// The most memory the caching allocator has held for tensors on GPU `device` since the process started, in
// MiB (torch.cuda.max_memory_allocated); 0 for the CPU or a build without CUDA.
double peak_gpu_allocated_mib(torch::Device device);
// Bytes the caching allocator has handed out on a CUDA device now (0 for the CPU, or without CUDA).
int64_t gpu_allocated_bytes(torch::Device device);

// The help text of every command's --device option.
inline constexpr const char* kDeviceHelp = "cpu, cuda, cuda:N, or auto (cuda when a GPU is visible)";

}  // namespace ftmamba
