// defines: one instruction-set path (FTMAMBA_KERNEL_ISA, see cpu_path.h) of the CPU depthwise causal conv1d
// kernels of causal_conv1d_cpu.h: OpenMP over (batch x channel group) work items, SIMD across channels (the
// contiguous axis of the token-major layout). Compiled once per path; cpu_isa.cpp dispatches.
#include "ftmamba/kernels/causal_conv1d_cpu.h"

#include <omp.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <vector>

#include "ftmamba/kernels/cpu_math.h"
#include "ftmamba/kernels/cpu_path.h"
#include "ftmamba/kernels/cpu_simd.h"
#include "ftmamba/kernels/cpu_work_split.h"

FTMAMBA_DECLARE_CPU_PATH(FTMAMBA_KERNEL_ISA)

namespace ftmamba::kernels::FTMAMBA_KERNEL_ISA {
namespace {

struct ConvScratch;  // tags this kernel's per-thread scratch buffer

using vmath::sigmoid_t;

// Pre-activation for one token row: pre[j] = bias + sum_k w_t[k, c0 + j] x[t - (W-1) + k, c0 + j].
// w_t is the (width, channels) transpose of the weight, so every tap is a contiguous channel row.
template <typename T>
inline void conv_row(const CausalConv1dParams<T>& p, const T* w_t, int64_t b, int64_t t, int64_t c0, int64_t nc,
                     T* pre) {
  const int64_t W = p.width, C = p.channels;
  if (p.bias) {
    std::copy(p.bias + c0, p.bias + c0 + nc, pre);
  } else {
    std::fill(pre, pre + nc, T(0));
  }
  const T* x_b = p.x + b * p.x_batch_stride + c0;
  for (int64_t k = std::max<int64_t>(0, W - 1 - t); k < W; ++k) {
    const T* xs = x_b + (t - (W - 1) + k) * p.x_l_stride;
    const T* wk = w_t + k * C + c0;
#pragma omp simd
    for (int64_t j = 0; j < nc; ++j) pre[j] += wk[j] * xs[j];
  }
}

template <typename T>
std::vector<T> transpose_weight(const CausalConv1dParams<T>& p) {
  std::vector<T> w_t(static_cast<std::size_t>(p.width * p.channels));
  for (int64_t c = 0; c < p.channels; ++c)
    for (int64_t k = 0; k < p.width; ++k) w_t[k * p.channels + c] = p.weight[c * p.width + k];
  return w_t;
}

template <typename T>
void forward_impl(const CausalConv1dParams<T>& p) {
  const int nt = std::max(1, p.num_threads);
  const int64_t L = p.seqlen, C = p.channels;
  const int64_t groups = channel_groups(p.batch, C, nt);
  const int64_t items = p.batch * groups;
  const std::vector<T> w_t = transpose_weight(p);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && items > 1)
  for (int64_t it = 0; it < items; ++it) {
    const int64_t b = it / groups, g = it % groups;
    const int64_t c0 = group_begin(g, groups, C), nc = group_begin(g + 1, groups, C) - c0;
    for (int64_t t = 0; t < L; ++t) {
      T* o = p.out + (b * L + t) * C + c0;
      conv_row(p, w_t.data(), b, t, c0, nc, o);
      if (p.silu) {
        simd::for_each_chunk<T>(nc, [&](auto v, int64_t j) {
          using Val = decltype(v);
          const Val x = simd::load<Val>(o + j);
          simd::store(o + j, x * sigmoid_t(x));
        });
      }
    }
  }
}

template <typename T>
void backward_impl(const CausalConv1dParams<T>& p, const CausalConv1dGrads<T>& g) {
  const int nt = std::max(1, p.num_threads);
  const int64_t L = p.seqlen, C = p.channels, W = p.width;
  const int64_t groups = channel_groups(p.batch, C, nt);
  const int64_t items = p.batch * groups;
  const int64_t max_nc = (C + groups - 1) / groups;
  const std::vector<T> w_t = transpose_weight(p);
  // Per-thread partials of dweight (as (width, channels)) and dbias, summed in thread order at the end.
  const int64_t part_stride = (W + 1) * C;
  std::vector<T> partials(static_cast<std::size_t>(nt * part_stride), T(0));
#pragma omp parallel num_threads(nt) if (nt > 1 && items > 1)
  {
    T* pre = thread_scratch<T, ConvScratch>(static_cast<std::size_t>(max_nc));
    T* part = partials.data() + omp_get_thread_num() * part_stride;
#pragma omp for schedule(static)
    for (int64_t it = 0; it < items; ++it) {
      const int64_t b = it / groups, gi = it % groups;
      const int64_t c0 = group_begin(gi, groups, C), nc = group_begin(gi + 1, groups, C) - c0;
      const T* x_b = p.x + b * p.x_batch_stride + c0;
      for (int64_t t = 0; t < L; ++t) {
        const int64_t row = (b * L + t) * C + c0;
        const T* dy = g.dout + row;
        // dpre overwrites the recomputed pre-activation in place.
        conv_row(p, w_t.data(), b, t, c0, nc, pre);
        if (p.silu) {
          simd::for_each_chunk<T>(nc, [&](auto v, int64_t j) {
            using Val = decltype(v);
            const Val x = simd::load<Val>(pre + j);
            const Val sg = sigmoid_t(x);
            simd::store(pre + j, simd::load<Val>(dy + j) * sg * (T(1) + x * (T(1) - sg)));
          });
        } else {
          std::copy(dy, dy + nc, pre);
        }
        const T* dpre = pre;
        if (p.bias) {
          T* db = part + W * C + c0;
#pragma omp simd
          for (int64_t j = 0; j < nc; ++j) db[j] += dpre[j];
        }
        // Tap k of output t reads input row s = t - (W-1) + k. Row t is first reached here (k = W-1), so it
        // is assigned; earlier rows accumulate, all within this item's own slice of dx.
        for (int64_t k = std::max<int64_t>(0, W - 1 - t); k < W; ++k) {
          const int64_t s = t - (W - 1) + k;
          const T* xs = x_b + s * p.x_l_stride;
          const T* wk = w_t.data() + k * C + c0;
          T* dwk = part + k * C + c0;
          T* dx = g.dx + (b * L + s) * C + c0;
          if (k == W - 1) {
#pragma omp simd
            for (int64_t j = 0; j < nc; ++j) {
              dwk[j] += dpre[j] * xs[j];
              dx[j] = wk[j] * dpre[j];
            }
          } else {
#pragma omp simd
            for (int64_t j = 0; j < nc; ++j) {
              dwk[j] += dpre[j] * xs[j];
              dx[j] += wk[j] * dpre[j];
            }
          }
        }
      }
    }
  }
  for (int64_t c = 0; c < C; ++c) {
    for (int64_t k = 0; k < W; ++k) {
      T acc = 0;
      for (int th = 0; th < nt; ++th) acc += partials[th * part_stride + k * C + c];
      g.dweight[c * W + k] = acc;
    }
    if (g.dbias) {
      T acc = 0;
      for (int th = 0; th < nt; ++th) acc += partials[th * part_stride + W * C + c];
      g.dbias[c] = acc;
    }
  }
}

}  // namespace

void causal_conv1d_fwd_cpu(const CausalConv1dParams<float>& p) { forward_impl(p); }
void causal_conv1d_fwd_cpu(const CausalConv1dParams<double>& p) { forward_impl(p); }
void causal_conv1d_bwd_cpu(const CausalConv1dParams<float>& p, const CausalConv1dGrads<float>& g) {
  backward_impl(p, g);
}
void causal_conv1d_bwd_cpu(const CausalConv1dParams<double>& p, const CausalConv1dGrads<double>& g) {
  backward_impl(p, g);
}

}  // namespace ftmamba::kernels::FTMAMBA_KERNEL_ISA
