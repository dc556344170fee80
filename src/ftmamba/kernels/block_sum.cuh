// defines: block_sum<Warps>, the sum of a float over a block of Warps warps, which every thread gets; the decode
// kernels' norms use it. Included by .cu files only.
#pragma once

namespace ftmamba::kernels {

// `scratch` holds Warps floats of shared memory.
template <int Warps>
__device__ __forceinline__ float block_sum(float v, float* scratch) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  __syncthreads();  // scratch may still be read from the last call
  if (threadIdx.x % 32 == 0) scratch[threadIdx.x / 32] = v;
  __syncthreads();
  float s = 0.f;
#pragma unroll
  for (int w = 0; w < Warps; ++w) s += scratch[w];
  return s;
}

}  // namespace ftmamba::kernels
