// defines: cuda_sm_count (cached per device).
#include <mutex>
#include <vector>

#include "ftmamba/kernels/cuda_common.cuh"

namespace ftmamba::kernels {

int cuda_sm_count() {
  static std::mutex mu;
  static std::vector<int> cache;
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) return 1;
  std::lock_guard<std::mutex> lock(mu);
  if (static_cast<int>(cache.size()) <= device) cache.resize(device + 1, 0);
  if (cache[device] == 0) {
    int sms = 0;
    cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
    cache[device] = sms > 0 ? sms : 1;
  }
  return cache[device];
}

}  // namespace ftmamba::kernels
