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

#include "ftmamba/kernels/cpu_bf16_rows.h"
#include "ftmamba/kernels/cpu_math.h"
#include "ftmamba/kernels/cpu_path.h"
#include "ftmamba/kernels/cpu_simd.h"
#include "ftmamba/kernels/cpu_work_split.h"

FTMAMBA_DECLARE_CPU_PATH(FTMAMBA_KERNEL_ISA)

namespace ftmamba::kernels::FTMAMBA_KERNEL_ISA {
namespace {

struct ConvScratch;       // tags this kernel's per-thread scratch buffer
struct ConvStageScratch;  // and the float rows of a bfloat16 work item

using vmath::sigmoid_t;

// Pre-activation for one token row: pre[j] = bias + sum_k w_t[k, c0 + j] x[t - (W-1) + k, j], where x_b points at
// channel c0 of the item's rows, l_stride apart. w_t is the (width, channels) transpose of the weight, so every
// tap is a contiguous channel row.
template <typename T, typename Act>
inline void conv_row(const CausalConv1dParams<T, Act>& p, const T* w_t, const T* x_b, int64_t l_stride, int64_t t,
                     int64_t c0, int64_t nc, T* pre) {
  const int64_t W = p.width, C = p.channels;
  if (p.bias) {
    std::copy(p.bias + c0, p.bias + c0 + nc, pre);
  } else {
    std::fill(pre, pre + nc, T(0));
  }
  for (int64_t k = std::max<int64_t>(0, W - 1 - t); k < W; ++k) {
    const T* xs = x_b + (t - (W - 1) + k) * l_stride;
    const T* wk = w_t + k * C + c0;
#pragma omp simd
    for (int64_t j = 0; j < nc; ++j) pre[j] += wk[j] * xs[j];
  }
}

template <typename T, typename Act>
std::vector<T> transpose_weight(const CausalConv1dParams<T, Act>& p) {
  std::vector<T> w_t(static_cast<std::size_t>(p.width * p.channels));
  for (int64_t c = 0; c < p.channels; ++c)
    for (int64_t k = 0; k < p.width; ++k) w_t[k * p.channels + c] = p.weight[c * p.width + k];
  return w_t;
}

// ---- bfloat16 activations -------------------------------------------------------------------------------
// With Act = Bf16 a work item's rows (channels [c0, c0 + w) of one batch row) are widened into float rows,
// the float code runs on them, and its outputs are rounded back; items whose rows would exceed kStageBytes go
// in channel slices. Slices: x, then out (forward) or dout and dx (backward), each (L, w).

template <typename T>
int64_t stage_width(int64_t L, int64_t nc) {
  const int64_t w = static_cast<int64_t>(kStageBytes / sizeof(T)) / (3 * std::max<int64_t>(L, 1));
  return std::clamp<int64_t>(w / simd::kLanes<T> * simd::kLanes<T>, simd::kLanes<T>, std::max<int64_t>(nc, 1));
}

// The rows of channels [c0, c0 + nc) of batch row b: forward over all tokens, into out_b (rows out_ls apart).
template <typename T, typename Act>
void forward_rows(const CausalConv1dParams<T, Act>& p, const T* w_t, const T* x_b, int64_t x_ls, int64_t c0, int64_t nc,
                  T* out_b, int64_t out_ls) {
  for (int64_t t = 0; t < p.seqlen; ++t) {
    T* o = out_b + t * out_ls;
    conv_row(p, w_t, x_b, x_ls, t, c0, nc, o);
    if (p.silu) {
      simd::for_each_chunk<T>(nc, [&](auto v, int64_t j) {
        using Val = decltype(v);
        const Val x = simd::load<Val>(o + j);
        simd::store(o + j, x * sigmoid_t(x));
      });
    }
  }
}

template <typename T, typename Act>
void forward_impl(const CausalConv1dParams<T, Act>& p) {
  const int nt = std::max(1, p.num_threads);
  const int64_t L = p.seqlen, C = p.channels;
  const int64_t groups = channel_groups(p.batch, C, nt);
  const int64_t items = p.batch * groups;
  const std::vector<T> w_t = transpose_weight(p);
  constexpr bool kStaged = !std::is_same_v<Act, T>;
  const int64_t sw = kStaged ? stage_width<T>(L, (C + groups - 1) / groups) : 0;
#pragma omp parallel num_threads(nt) if (nt > 1 && items > 1)
  {
    T* rows = kStaged ? thread_scratch<T, ConvStageScratch>(static_cast<std::size_t>(2 * L * sw)) : nullptr;
#pragma omp for schedule(static)
    for (int64_t it = 0; it < items; ++it) {
      const int64_t b = it / groups, g = it % groups;
      const int64_t c0 = group_begin(g, groups, C), nc = group_begin(g + 1, groups, C) - c0;
      if constexpr (kStaged) {
        for (int64_t k0 = c0; k0 < c0 + nc; k0 += sw) {
          const int64_t w = std::min(sw, c0 + nc - k0);
          T* x = rows;
          T* out = rows + L * w;
          stage_rows(p.x + b * p.x_batch_stride + k0, p.x_l_stride, L, w, x);
          forward_rows(p, w_t.data(), x, w, k0, w, out, w);
          unstage_rows(out, L, w, p.out + b * L * C + k0, C);
        }
      } else {
        forward_rows(p, w_t.data(), p.x + b * p.x_batch_stride + c0, p.x_l_stride, c0, nc, p.out + b * L * C + c0, C);
      }
    }
  }
}

// The backward of channels [c0, c0 + nc) of one batch row: x_b, dout_b and dx_b with their rows x_ls, d_ls and
// dx_ls apart; adds to this thread's dweight / dbias partials `part`. pre: (nc) scratch.
template <typename T, typename Act>
void backward_rows(const CausalConv1dParams<T, Act>& p, const T* w_t, const T* x_b, int64_t x_ls, const T* dout_b,
                   int64_t d_ls, T* dx_b, int64_t dx_ls, int64_t c0, int64_t nc, T* pre, T* part) {
  const int64_t L = p.seqlen, C = p.channels, W = p.width;
  for (int64_t t = 0; t < L; ++t) {
    const T* dy = dout_b + t * d_ls;
    // dpre overwrites the recomputed pre-activation in place.
    conv_row(p, w_t, x_b, x_ls, t, c0, nc, pre);
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
      const T* xs = x_b + s * x_ls;
      const T* wk = w_t + k * C + c0;
      T* dwk = part + k * C + c0;
      T* dx = dx_b + s * dx_ls;
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

template <typename T, typename Act>
void backward_impl(const CausalConv1dParams<T, Act>& p, const CausalConv1dGrads<T, Act>& g) {
  const int nt = std::max(1, p.num_threads);
  const int64_t L = p.seqlen, C = p.channels, W = p.width;
  const int64_t groups = channel_groups(p.batch, C, nt);
  const int64_t items = p.batch * groups;
  const int64_t max_nc = (C + groups - 1) / groups;
  const std::vector<T> w_t = transpose_weight(p);
  constexpr bool kStaged = !std::is_same_v<Act, T>;
  const int64_t sw = kStaged ? stage_width<T>(L, max_nc) : 0;
  // Per-thread partials of dweight (as (width, channels)) and dbias, summed in thread order at the end.
  const int64_t part_stride = (W + 1) * C;
  std::vector<T> partials(static_cast<std::size_t>(nt * part_stride), T(0));
#pragma omp parallel num_threads(nt) if (nt > 1 && items > 1)
  {
    T* pre = thread_scratch<T, ConvScratch>(static_cast<std::size_t>(max_nc));
    T* rows = kStaged ? thread_scratch<T, ConvStageScratch>(static_cast<std::size_t>(3 * L * sw)) : nullptr;
    T* part = partials.data() + omp_get_thread_num() * part_stride;
#pragma omp for schedule(static)
    for (int64_t it = 0; it < items; ++it) {
      const int64_t b = it / groups, gi = it % groups;
      const int64_t c0 = group_begin(gi, groups, C), nc = group_begin(gi + 1, groups, C) - c0;
      if constexpr (kStaged) {
        for (int64_t k0 = c0; k0 < c0 + nc; k0 += sw) {
          const int64_t w = std::min(sw, c0 + nc - k0);
          T* x = rows;
          T* dout = x + L * w;
          T* dx = dout + L * w;
          stage_rows(p.x + b * p.x_batch_stride + k0, p.x_l_stride, L, w, x);
          stage_rows(g.dout + b * L * C + k0, C, L, w, dout);
          backward_rows(p, w_t.data(), x, w, dout, w, dx, w, k0, w, pre, part);
          unstage_rows(dx, L, w, g.dx + b * g.dx_batch_stride + k0, g.dx_l_stride);
        }
      } else {
        backward_rows(p, w_t.data(), p.x + b * p.x_batch_stride + c0, p.x_l_stride, g.dout + b * L * C + c0, C,
                      g.dx + b * g.dx_batch_stride + c0, g.dx_l_stride, c0, nc, pre, part);
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
void causal_conv1d_fwd_cpu(const CausalConv1dParams<float, Bf16>& p) { forward_impl(p); }
void causal_conv1d_bwd_cpu(const CausalConv1dParams<float, Bf16>& p, const CausalConv1dGrads<float, Bf16>& g) {
  backward_impl(p, g);
}

}  // namespace ftmamba::kernels::FTMAMBA_KERNEL_ISA
