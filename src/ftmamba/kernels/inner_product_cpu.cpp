// defines: one instruction-set path (FTMAMBA_KERNEL_ISA, see cpu_path.h) of inner_product_cpu.
#include "ftmamba/kernels/inner_product_cpu.h"

#include "ftmamba/kernels/cpu_path.h"
#include "ftmamba/kernels/cpu_simd.h"

FTMAMBA_DECLARE_CPU_PATH(FTMAMBA_KERNEL_ISA)

namespace ftmamba::kernels::FTMAMBA_KERNEL_ISA {
namespace {

template <typename T>
T inner_product(const T* a, const T* b, int64_t n) {
  using V = simd::Vec<T>;
  constexpr int64_t lanes = simd::kLanes<T>;
  // Four independent accumulators, so that the adds of one vector do not wait for the previous one's.
  V acc0{}, acc1{}, acc2{}, acc3{};
  int64_t i = 0;
  for (; i + 4 * lanes <= n; i += 4 * lanes) {
    acc0 += simd::load<V>(a + i) * simd::load<V>(b + i);
    acc1 += simd::load<V>(a + i + lanes) * simd::load<V>(b + i + lanes);
    acc2 += simd::load<V>(a + i + 2 * lanes) * simd::load<V>(b + i + 2 * lanes);
    acc3 += simd::load<V>(a + i + 3 * lanes) * simd::load<V>(b + i + 3 * lanes);
  }
  for (; i + lanes <= n; i += lanes) acc0 += simd::load<V>(a + i) * simd::load<V>(b + i);
  T sum = simd::lane_sum((acc0 + acc1) + (acc2 + acc3));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

}  // namespace

float inner_product_cpu(const float* a, const float* b, int64_t n) { return inner_product(a, b, n); }
double inner_product_cpu(const double* a, const double* b, int64_t n) { return inner_product(a, b, n); }

}  // namespace ftmamba::kernels::FTMAMBA_KERNEL_ISA
