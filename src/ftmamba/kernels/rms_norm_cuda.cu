// defines: the CUDA residual add and RMS norm of a decode step (see rms_norm_cuda.h).
//
// One block a batch row: each thread adds and squares its strided share of the row, the block sums the squares
// (warp shuffles, then one warp over the warps' sums), and each thread scales its share again. A row is a few
// KB, read once and written twice; the kernel is one launch where LibTorch's norm is eight.
#include "ftmamba/kernels/cuda_common.cuh"
#include "ftmamba/kernels/rms_norm_cuda.h"

namespace ftmamba::kernels {
namespace {

constexpr int kThreads = 256;

template <typename TD, typename TO>
__global__ void __launch_bounds__(kThreads) add_rms_norm_kernel(const AddRmsNormCudaParams p) {
  float* row = p.residual + int64_t(blockIdx.x) * p.dim;
  const TD* delta = p.delta ? static_cast<const TD*>(p.delta) + int64_t(blockIdx.x) * p.dim : nullptr;
  float sumsq = 0.f;
  for (int64_t j = threadIdx.x; j < p.dim; j += kThreads) {
    float v = row[j];
    if (delta) {
      v += to_float(delta[j]);
      row[j] = v;
    }
    sumsq += v * v;
  }
  __shared__ float warp_sums[kThreads / 32];
  for (int offset = 16; offset > 0; offset /= 2) sumsq += __shfl_xor_sync(0xffffffffu, sumsq, offset);
  if (threadIdx.x % 32 == 0) warp_sums[threadIdx.x / 32] = sumsq;
  __syncthreads();
  if (threadIdx.x < 32) {
    float s = threadIdx.x < kThreads / 32 ? warp_sums[threadIdx.x] : 0.f;
    for (int offset = 16; offset > 0; offset /= 2) s += __shfl_xor_sync(0xffffffffu, s, offset);
    if (threadIdx.x == 0) warp_sums[0] = s;
  }
  __syncthreads();
  const float inv_rms = rsqrtf(warp_sums[0] / static_cast<float>(p.dim) + p.eps);
  TO* out = static_cast<TO*>(p.out) + int64_t(blockIdx.x) * p.dim;
  for (int64_t j = threadIdx.x; j < p.dim; j += kThreads) out[j] = from_float<TO>(row[j] * inv_rms * p.weight[j]);
}

}  // namespace

void add_rms_norm_cuda(const AddRmsNormCudaParams& p) {
  if (p.batch == 0 || p.dim == 0) return;
  const auto stream = static_cast<cudaStream_t>(p.stream);
  dispatch_dtype(p.delta_dtype, [&](auto delta_tag) {
    dispatch_dtype(p.out_dtype, [&](auto out_tag) {
      add_rms_norm_kernel<decltype(delta_tag), decltype(out_tag)>
          <<<static_cast<unsigned>(p.batch), kThreads, 0, stream>>>(p);
    });
  });
  check_launch("add + RMS norm");
}

}  // namespace ftmamba::kernels
