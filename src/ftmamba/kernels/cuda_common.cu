// defines: cuda_sm_count and cuda_compute_major (cached per device).
#include <mutex>
#include <vector>

#include "ftmamba/kernels/cuda_common.cuh"

namespace ftmamba::kernels {
namespace {

// The current device's `attribute`, asked of the driver once per device; `fallback` where it cannot be had.
int cached_device_attribute(cudaDeviceAttr attribute, std::vector<int>& cache, std::mutex& mu, int fallback) {
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) return fallback;
  std::lock_guard<std::mutex> lock(mu);
  if (static_cast<int>(cache.size()) <= device) cache.resize(device + 1, 0);
  if (cache[device] == 0) {
    int value = 0;
    cudaDeviceGetAttribute(&value, attribute, device);
    cache[device] = value > 0 ? value : fallback;
  }
  return cache[device];
}

}  // namespace

int cuda_sm_count() {
  static std::mutex mu;
  static std::vector<int> cache;
  return cached_device_attribute(cudaDevAttrMultiProcessorCount, cache, mu, 1);
}

int cuda_compute_major() {
  static std::mutex mu;
  static std::vector<int> cache;
  return cached_device_attribute(cudaDevAttrComputeCapabilityMajor, cache, mu, 1);
}

}  // namespace ftmamba::kernels
