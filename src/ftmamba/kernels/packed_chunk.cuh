// defines: a weight row read as 16-byte chunks (8 bf16 or fp16, or 4 float), the unit of the decode kernels' matrix
// reads: kChunkElements<T> and unpack<T>, a chunk as floats. Included by .cu files only.
#pragma once
#include <cstring>
#include <type_traits>

#include "ftmamba/kernels/cuda_common.cuh"

namespace ftmamba::kernels {

template <typename T>
constexpr int kChunkElements = 16 / sizeof(T);

// A 16-byte chunk of T as float.
template <typename T>
__device__ __forceinline__ void unpack(const uint4& v, float* f) {
  if constexpr (std::is_same_v<T, float>) {
    f[0] = __uint_as_float(v.x), f[1] = __uint_as_float(v.y), f[2] = __uint_as_float(v.z), f[3] = __uint_as_float(v.w);
  } else {
    const unsigned words[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      T pair[2];
      memcpy(pair, &words[i], sizeof(pair));
      f[2 * i] = to_float(pair[0]);
      f[2 * i + 1] = to_float(pair[1]);
    }
  }
}

}  // namespace ftmamba::kernels
