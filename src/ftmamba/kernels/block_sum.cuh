// defines: warp_sum, the sum of a float over the 32 lanes of a warp, and block_sum<Warps>, over a block of Warps
// warps; every thread gets the sum. The decode kernels' products and norms use them. Included by .cu files only.
#pragma once

namespace ftmamba::kernels {

__device__ __forceinline__ float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

// `scratch` holds Warps floats of shared memory.
template <int Warps>
__device__ __forceinline__ float block_sum(float v, float* scratch) {
  v = warp_sum(v);
  __syncthreads();  // scratch may still be read from the last call
  if (threadIdx.x % 32 == 0) scratch[threadIdx.x / 32] = v;
  __syncthreads();
  float s = 0.f;
#pragma unroll
  for (int w = 0; w < Warps; ++w) s += scratch[w];
  return s;
}

}  // namespace ftmamba::kernels
