// defines: the vectorisable float math of the CPU kernels (exp, log1p on [0, 1], softplus, sigmoid and
// softplus'), each on a float or a simd::Vec<float> from one source, so a vector loop and its scalar tail
// agree; double, the reference type, goes through the library lane by lane. glibc's expf is a scalar call,
// and the kernels need one per element.
#pragma once
#include <bit>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "ftmamba/kernels/cpu_simd.h"

namespace ftmamba::kernels::FTMAMBA_KERNEL_ISA::vmath {

// exp on a float or a simd::Vec<float>: exp(x) = 2^k * exp(r), x = k*ln2 + r, |r| <= ln2/2 (Cody-Waite split of ln2),
// and a degree-6 minimax polynomial for exp(r) (error 2e-9), so the relative error is rounding-limited (~1e-7). The
// input is clamped to [-87.3, 88.3] so 2^k stays a normal float: results below ~1e-38 come out as ~1e-38 rather than 0
// and results above ~2e38 saturate there rather than at +inf; no selects needed. NaN propagates.
template <typename V>
inline V exp_v(V x) {
  using I = std::conditional_t<std::is_same_v<V, float>, std::int32_t, simd::Vec<std::int32_t>>;
  const V xc = simd::min(simd::max(x, simd::splat<V>(-87.3f)), simd::splat<V>(88.3f));
  // Adding 1.5*2^23 rounds x/ln2 to the nearest integer k and leaves k in the low mantissa bits.
  constexpr float kShift = 12582912.0f;
  const V shifted = xc * 1.44269504088896341f + kShift;
  const V kf = shifted - kShift;
  // ln2 = 0.693359375 (exact in float times any |k| <= 128) - 2.12194440e-4.
  V r = xc - kf * 0.693359375f;
  r = r + kf * 2.12194440e-4f;
  V poly = simd::splat<V>(1.3941108e-3f);
  poly = poly * r + 8.3751264e-3f;
  poly = poly * r + 4.1666353e-2f;
  poly = poly * r + 1.6666416e-1f;
  poly = poly * r + 0.5f;
  poly = poly * r + 1.0f;
  poly = poly * r + 1.0f;
  // The low bits of `shifted` hold k (two's complement), so shifting them into the exponent field gives 2^k.
  const I k_bits = std::bit_cast<I>(shifted) << 23;
  return poly * std::bit_cast<V>(k_bits + (127 << 23));
}

// exp on a float or double, scalar or simd::Vec (double: the library's, lane by lane; the reference type).
template <typename V>
inline V exp_t(V x) {
  if constexpr (std::is_same_v<simd::lane_t<V>, float>) {
    return exp_v(x);
  } else if constexpr (std::is_same_v<V, double>) {
    return std::exp(x);
  } else {
    for (int64_t l = 0; l < simd::kLanes<double>; ++l) x[l] = std::exp(x[l]);
    return x;
  }
}

// log1p(y) for y in [0, 1] on a float or simd::Vec<float>: log(1+y) = 2 atanh(s), s = y / (2 + y) in
// [0, 1/3]; the odd series to s^15 leaves a truncation below 2e-9 and keeps full relative accuracy as y -> 0.
template <typename V>
inline V log1p_unit_v(V y) {
  const V s = y / (2.0f + y);
  const V s2 = s * s;
  V q = simd::splat<V>(1.0f / 15.0f);
  q = q * s2 + 1.0f / 13.0f;
  q = q * s2 + 1.0f / 11.0f;
  q = q * s2 + 1.0f / 9.0f;
  q = q * s2 + 1.0f / 7.0f;
  q = q * s2 + 1.0f / 5.0f;
  q = q * s2 + 1.0f / 3.0f;
  q = q * s2 + 1.0f;
  return 2.0f * s * q;
}

// softplus with PyTorch's threshold (x > 20 passes through), as mamba_ssm does, on a float or double, scalar or
// simd::Vec (double: the library's log1p and exp, lane by lane; the reference type). The row loops call these
// on explicit vectors (simd::for_each_chunk): GCC 12 does not vectorise them itself for targets without
// AVX-512 masks ("control flow in loop" after exp_v's clamp).
template <typename V>
inline V softplus_t(V x) {
  if constexpr (std::is_same_v<simd::lane_t<V>, float>) {
    const V sp = simd::max(x, simd::splat<V>(0.0f)) + log1p_unit_v(exp_v(-simd::max(x, -x)));
    return x > simd::splat<V>(20.0f) ? x : sp;
  } else if constexpr (std::is_same_v<V, double>) {
    return x > 20.0 ? x : std::log1p(std::exp(x));
  } else {
    for (int64_t l = 0; l < simd::kLanes<double>; ++l) x[l] = x[l] > 20.0 ? x[l] : std::log1p(std::exp(x[l]));
    return x;
  }
}

template <typename V>
inline V sigmoid_t(V x) {
  return 1.0f / (1.0f + exp_t(-x));
}

// d softplus(x) / dx applied to grad, with PyTorch's threshold (both sides computed, then selected, so
// that vectors need no branch).
template <typename V>
inline V softplus_grad(V x, V grad) {
  const V g = grad * sigmoid_t(x);
  return x > simd::splat<V>(20.0f) ? grad : g;
}

}  // namespace ftmamba::kernels::FTMAMBA_KERNEL_ISA::vmath
