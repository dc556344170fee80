// defines: device helpers shared by the .cu kernels: element loads/stores that convert to and from float,
// the launch-error check, and the per-dtype dispatch. Included by .cu files only.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>
#include <type_traits>

#include "ftmamba/kernels/cuda_common.h"

namespace ftmamba::kernels {

__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ __forceinline__ float to_float(__half x) { return __half2float(x); }

template <typename T>
__device__ __forceinline__ T from_float(float x);
template <>
__device__ __forceinline__ float from_float<float>(float x) {
  return x;
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) {
  return __float2bfloat16(x);
}
template <>
__device__ __forceinline__ __half from_float<__half>(float x) {
  return __float2half(x);
}

// Read-only load through the non-coherent cache, converted to float.
template <typename T>
__device__ __forceinline__ float load_float(const T* p) {
  return to_float(__ldg(p));
}

// Fast-math forms (MUFU exp / log / reciprocal): a few ulp, far inside the kernels' 1e-5 test tolerance.
__device__ __forceinline__ float sigmoidf(float x) { return __fdividef(1.f, 1.f + __expf(-x)); }
// softplus as torch computes it (threshold 20: above it, x itself).
__device__ __forceinline__ float softplusf(float x) { return x > 20.f ? x : log1pf(__expf(x)); }

inline void check_launch(const char* what) {
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}

// Calls f(T{}) with T the element type named by dtype; f recovers it as decltype of its argument.
template <typename F>
void dispatch_dtype(CudaDtype dtype, F&& f) {
  switch (dtype) {
    case CudaDtype::kFloat32:
      f(float{});
      break;
    case CudaDtype::kBFloat16:
      f(__nv_bfloat16{});
      break;
    case CudaDtype::kFloat16:
      f(__half{});
      break;
  }
}

// A compile-time int passed as a value: f(IntConstant<4>{}) gives f its 4 as decltype(arg)::value.
template <int V>
using IntConstant = std::integral_constant<int, V>;

// Calls f(IntConstant<V>{}) for the V among Values equal to v, or for the last of Values when none is: a run-time
// size (a conv width, a lane count) turned into a template argument.
template <int... Values, typename F>
void dispatch_int(int64_t v, F&& f) {
  constexpr int kValues[] = {Values...};
  constexpr int kLast = kValues[sizeof...(Values) - 1];
  const bool found = ((v == Values ? (f(IntConstant<Values>{}), true) : false) || ...);
  if (!found) f(IntConstant<kLast>{});
}

}  // namespace ftmamba::kernels
