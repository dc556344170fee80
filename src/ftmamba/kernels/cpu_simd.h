// defines: Vec<T>, one native SIMD register of T written as a GCC vector type, with unaligned load / store,
// splat and a pairwise lane sum. Arithmetic on a Vec reads like scalar code and compiles to the target's
// vector instructions (split into narrower ones where the target lacks the width), and the helpers also
// accept plain T, so one loop body can serve the full vectors and the scalar tail.
// The CPU kernels use it where the compiler's own vectoriser cannot see the register blocking they need.
// The width follows the flags of the translation unit, which is compiled once per instruction-set path
// (see cpu_path.h), so everything here lives in that path's namespace.
#pragma once
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#ifndef FTMAMBA_KERNEL_ISA
#error "FTMAMBA_KERNEL_ISA names the instruction-set path this source is compiled for (see cpu_path.h)"
#endif

namespace ftmamba::kernels::FTMAMBA_KERNEL_ISA::simd {

#if defined(__AVX512F__)
inline constexpr std::size_t kBytes = 64;
#elif defined(__AVX__)
inline constexpr std::size_t kBytes = 32;
#else
inline constexpr std::size_t kBytes = 16;
#endif

template <typename T>
struct VecOf {
  typedef T type __attribute__((vector_size(kBytes)));
  // The same, at T's alignment: for loads and stores at any element offset.
  typedef T unaligned __attribute__((vector_size(kBytes), aligned(alignof(T))));
};
template <typename T>
using Vec = typename VecOf<T>::type;

template <typename T>
inline constexpr int64_t kLanes = static_cast<int64_t>(kBytes / sizeof(T));

// V is Vec<T> or T itself. Typed accesses (not memcpy), so the compiler knows a store of T cannot change a
// pointer it holds.
template <typename V, typename T>
inline V load(const T* p) {
  if constexpr (std::is_same_v<V, T>) {
    return *p;
  } else {
    return *reinterpret_cast<const typename VecOf<T>::unaligned*>(p);
  }
}

template <typename V, typename T>
inline void store(T* p, const V& v) {
  if constexpr (std::is_same_v<V, T>) {
    *p = v;
  } else {
    *reinterpret_cast<typename VecOf<T>::unaligned*>(p) = v;
  }
}

// The lane type of V (V itself for a scalar).
template <typename V, typename = void>
struct Lane {
  using type = V;
};
template <typename V>
struct Lane<V, std::void_t<decltype(std::declval<V>()[0])>> {
  using type = std::remove_cvref_t<decltype(std::declval<V>()[0])>;
};
template <typename V>
using lane_t = typename Lane<V>::type;

template <typename V, typename T>
inline V splat(T x) {
  if constexpr (std::is_arithmetic_v<V>) {
    return static_cast<V>(x);
  } else {
    return V{} + static_cast<lane_t<V>>(x);
  }
}

template <typename V>
inline V min(V a, V b) {
  return a < b ? a : b;
}
template <typename V>
inline V max(V a, V b) {
  return a > b ? a : b;
}

// Runs f(Vec<T>{}, j) for each full vector of channels [j, j + kLanes) in [0, n), then f(T{}, j) for each
// remaining j. f takes its first argument only for its type (auto), to choose its loads and stores, so one
// body serves the vectors and the scalar tail.
template <typename T, typename F>
inline void for_each_chunk(int64_t n, F&& f) {
  int64_t j = 0;
  for (; j + kLanes<T> <= n; j += kLanes<T>) f(Vec<T>{}, j);
  for (; j < n; ++j) f(T{}, j);
}

namespace detail {
template <typename V, std::size_t... I>
inline auto low_half(V v, std::index_sequence<I...>) {
  return __builtin_shufflevector(v, v, I...);
}
template <typename V, std::size_t... I>
inline auto high_half(V v, std::index_sequence<I...>) {
  return __builtin_shufflevector(v, v, (I + sizeof...(I))...);
}
}  // namespace detail

// Sum of the lanes, pairwise: lane l is added to lane l + n/2 first, then halves again (a fixed order, so
// results are reproducible). A scalar is returned as is.
template <typename V>
inline auto lane_sum(V v) {
  if constexpr (std::is_arithmetic_v<V>) {
    return v;
  } else {
    constexpr std::size_t n = sizeof(V) / sizeof(v[0]);
    if constexpr (n == 2) {
      return v[0] + v[1];
    } else {
      constexpr auto half = std::make_index_sequence<n / 2>{};
      return lane_sum(detail::low_half(v, half) + detail::high_half(v, half));
    }
  }
}

}  // namespace ftmamba::kernels::FTMAMBA_KERNEL_ISA::simd
