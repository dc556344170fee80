// defines: widen_row / narrow_row (bfloat16 rows to float and back, rounding to nearest even as LibTorch's
// cast does) and stage_rows / unstage_rows (a work item's rows of a token-major tensor into contiguous float
// scratch and back): how the CPU kernels take bfloat16 activations while their arithmetic and state stay float.
// Compiled once per instruction-set path (see cpu_path.h), like every header of the kernels' SIMD sources.
#pragma once
#include <bit>
#include <cstddef>
#include <cstdint>

#include "ftmamba/kernels/bf16.h"

#ifndef FTMAMBA_KERNEL_ISA
#error "FTMAMBA_KERNEL_ISA names the instruction-set path this source is compiled for (see cpu_path.h)"
#endif

namespace ftmamba::kernels::FTMAMBA_KERNEL_ISA {

// Bytes of float rows a thread stages per work item; an item whose rows would need more goes in channel slices.
inline constexpr std::size_t kStageBytes = 2 * 1024 * 1024;

// Exact: a bfloat16 is the upper half of the float with the same value.
inline void widen_row(const Bf16* src, int64_t n, float* dst) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) dst[j] = std::bit_cast<float>(static_cast<std::uint32_t>(src[j].bits) << 16);
}

// Round to nearest, ties to even; NaN stays a (quiet) NaN.
inline void narrow_row(const float* src, int64_t n, Bf16* dst) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) {
    const std::uint32_t u = std::bit_cast<std::uint32_t>(src[j]);
    const bool nan = (u & 0x7fffffffu) > 0x7f800000u;
    const std::uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    dst[j].bits = static_cast<std::uint16_t>(nan ? 0x7fc0u : rounded);
  }
}

// Rows t in [0, L) of n elements at src + t * l_stride, into dst as (L, n) contiguous.
inline void stage_rows(const Bf16* src, int64_t l_stride, int64_t L, int64_t n, float* dst) {
  for (int64_t t = 0; t < L; ++t) widen_row(src + t * l_stride, n, dst + t * n);
}

// (L, n) contiguous float rows, into rows of n elements at dst + t * l_stride.
inline void unstage_rows(const float* src, int64_t L, int64_t n, Bf16* dst, int64_t l_stride) {
  for (int64_t t = 0; t < L; ++t) narrow_row(src + t * n, n, dst + t * l_stride);
}

}  // namespace ftmamba::kernels::FTMAMBA_KERNEL_ISA
