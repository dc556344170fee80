// defines: cuda_sm_count and cuda_shared_memory_opt_in (cached per device).
#include <mutex>
#include <vector>

#include "ftmamba/kernels/cuda_common.cuh"

namespace ftmamba::kernels {
namespace {

// Attribute Attr of the current device, asked of the driver once per device; `fallback` where it cannot be read or
// is not positive (a fallback of 0 is asked again next time).
template <cudaDeviceAttr Attr>
int current_device_attribute(int fallback) {
  static std::mutex mu;
  static std::vector<int> cache;
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) return fallback;
  std::lock_guard<std::mutex> lock(mu);
  if (static_cast<int>(cache.size()) <= device) cache.resize(device + 1, 0);
  if (cache[device] == 0) {
    int value = 0;
    cudaDeviceGetAttribute(&value, Attr, device);
    cache[device] = value > 0 ? value : fallback;
  }
  return cache[device];
}

}  // namespace

int cuda_sm_count() { return current_device_attribute<cudaDevAttrMultiProcessorCount>(1); }

int cuda_shared_memory_opt_in() { return current_device_attribute<cudaDevAttrMaxSharedMemoryPerBlockOptin>(0); }

}  // namespace ftmamba::kernels
