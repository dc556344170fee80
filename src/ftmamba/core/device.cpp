#include "ftmamba/core/device.h"

#include "ftmamba/core/error.h"

#ifdef FTMAMBA_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace ftmamba {

torch::Device choose_device(const std::string& spec) {
  const bool gpu_visible = torch::cuda::is_available();
#ifdef FTMAMBA_WITH_CUDA
  constexpr bool kernels_built = true;
#else
  constexpr bool kernels_built = false;  // a GPU would run the plain-LibTorch reference scan: slow
#endif
  if (spec.empty() || spec == "auto")
    return gpu_visible && kernels_built ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (spec == "cpu") return torch::kCPU;
  if (spec == "cuda" || spec.rfind("cuda:", 0) == 0) {
    if (!gpu_visible)
      throw Error("--device " + spec + ": no CUDA GPU is visible" +
                  (torch::hasCUDA() ? std::string() : " (this LibTorch has no CUDA support; see README, GPU build)"));
    int index = 0;
    if (spec.size() > 5) {
      try {
        size_t used = 0;
        index = std::stoi(spec.substr(5), &used);
        if (used != spec.size() - 5) throw std::invalid_argument(spec);
      } catch (const std::exception&) {
        throw Error("--device " + spec + ": expected cuda:N with N a GPU index");
      }
    }
    const int64_t count = static_cast<int64_t>(torch::cuda::device_count());
    if (index < 0 || index >= count)
      throw Error("--device " + spec + ": GPU index out of range (" + std::to_string(count) + " visible)");
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw Error("--device " + spec + ": expected " + kDeviceHelp);
}

std::string describe_device(torch::Device device) {
  if (!device.is_cuda()) return device.str();
#ifdef FTMAMBA_WITH_CUDA
  const c10::DeviceIndex index = device.has_index() ? device.index() : c10::DeviceIndex(0);
  const cudaDeviceProp* props = at::cuda::getDeviceProperties(index);
  return "cuda:" + std::to_string(static_cast<int>(index)) + " (" + std::string(props->name) + ")";
#else
  return device.str();
#endif
}

torch::Device module_device(const torch::nn::Module& m) {
  const auto params = m.parameters();
  return params.empty() ? torch::Device(torch::kCPU) : params.front().device();
}

namespace {

// The caching allocator's count of allocated bytes on `device`: its peak, or what is in use now.
int64_t allocated_bytes(torch::Device device, bool peak) {
#ifdef FTMAMBA_WITH_CUDA
  if (device.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.has_index() ? device.index() : 0);
    // Index 0 is StatType::AGGREGATE (all pools); the enum's namespace moved between LibTorch versions.
    return peak ? stats.allocated_bytes[0].peak : stats.allocated_bytes[0].current;
  }
#endif
  (void)device;
  (void)peak;
  return 0;
}

}  // namespace

double peak_gpu_allocated_mib(torch::Device device) {
  return static_cast<double>(allocated_bytes(device, /*peak=*/true)) / (1024.0 * 1024.0);
}

int64_t gpu_allocated_bytes(torch::Device device) { return allocated_bytes(device, /*peak=*/false); }

}  // namespace ftmamba
