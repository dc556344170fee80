// defines: the fused CPU selective-scan kernels of selective_scan_cpu.h: OpenMP over (batch x channel group)
// work items, SIMD across channels (any state size), plus the vectorisable float exp / log1p they rely on.
// The innermost loops run across channels, the unit-stride axis of u, delta, z and y, with the state held as
// (N, channels). Vectorising over N instead needs a horizontal sum per (token, channel) for <C_t, h_t>; at the
// tabular shape that forward took 12.4 ms against 3.7 ms this way.
#include "ftmamba/kernels/selective_scan_cpu.h"

#include <omp.h>

#include "ftmamba/kernels/cpu_work_split.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <vector>

namespace ftmamba::kernels {
namespace {

struct ScanScratch;  // tags this kernel's per-thread scratch buffer

// ---- math ------------------------------------------------------------------------------------------------
// glibc's expf is a scalar call, and the scan needs L*dim*N of them; this one inlines into SIMD loops.
// exp(x) = 2^k * exp(r), x = k*ln2 + r, |r| <= ln2/2 (Cody-Waite split of ln2), and a degree-6 minimax
// polynomial for exp(r) (error 2e-9), so the relative error is rounding-limited (~1e-7). The input is clamped
// to [-87.3, 88.3] so 2^k stays a normal float: results below ~1e-38 come out as ~1e-38 rather than 0 and
// results above ~2e38 saturate there rather than at +inf; no selects needed. NaN propagates.
inline float exp_f(float x) {
  const float xc = std::min(std::max(x, -87.3f), 88.3f);
  // Adding 1.5*2^23 rounds x/ln2 to the nearest integer k and leaves k in the low mantissa bits.
  constexpr float kShift = 12582912.0f;
  const float shifted = xc * 1.44269504088896341f + kShift;
  const float kf = shifted - kShift;
  // ln2 = 0.693359375 (exact in float times any |k| <= 128) - 2.12194440e-4.
  float r = xc - kf * 0.693359375f;
  r = r + kf * 2.12194440e-4f;
  float poly = 1.3941108e-3f;
  poly = poly * r + 8.3751264e-3f;
  poly = poly * r + 4.1666353e-2f;
  poly = poly * r + 1.6666416e-1f;
  poly = poly * r + 0.5f;
  poly = poly * r + 1.0f;
  poly = poly * r + 1.0f;
  // The low bits of `shifted` hold k (two's complement), so shifting them into the exponent field gives 2^k.
  const std::int32_t k_bits = std::bit_cast<std::int32_t>(shifted) << 23;
  return poly * std::bit_cast<float>(k_bits + (127 << 23));
}

// log1p(y) for y in [0, 1]: log(1+y) = 2 atanh(s), s = y / (2 + y) in [0, 1/3]; the odd series to s^15
// leaves a truncation below 2e-9 and keeps full relative accuracy as y -> 0.
inline float log1p_unit_f(float y) {
  const float s = y / (2.0f + y);
  const float s2 = s * s;
  float q = 1.0f / 15.0f;
  q = q * s2 + 1.0f / 13.0f;
  q = q * s2 + 1.0f / 11.0f;
  q = q * s2 + 1.0f / 9.0f;
  q = q * s2 + 1.0f / 7.0f;
  q = q * s2 + 1.0f / 5.0f;
  q = q * s2 + 1.0f / 3.0f;
  q = q * s2 + 1.0f;
  return 2.0f * s * q;
}

inline float exp_t(float x) { return exp_f(x); }
inline double exp_t(double x) { return std::exp(x); }

// softplus with PyTorch's threshold (x > 20 passes through), as mamba_ssm does.
inline float softplus_t(float x) {
  const float sp = std::max(x, 0.0f) + log1p_unit_f(exp_f(-std::abs(x)));
  return x > 20.0f ? x : sp;
}
inline double softplus_t(double x) { return x > 20.0 ? x : std::log1p(std::exp(x)); }

template <typename T>
inline T sigmoid_t(T x) {
  return T(1) / (T(1) + exp_t(-x));
}


// Bytes of per-thread state history the backward keeps for one channel block and time chunk; sized so two
// threads on one core still keep theirs in its L2.
constexpr std::size_t kHistoryBytes = 256 * 1024;
// Bytes of per-thread chunk-start checkpoints for long sequences: written once and read once, so they may
// live outside L2.
constexpr std::size_t kCheckpointBytes = 2 * 1024 * 1024;
// Channel block the backward keeps before it splits time into chunks instead: narrower blocks pay the
// per-token and per-state overheads (row loops, dB / dC lane sums) over fewer channels (the float backward at
// batch 2, L 2048, d_inner 256 took 34 / 24 / 22 ms with blocks of 32 / 64 / 128 channels).
constexpr int64_t kWideBlock = 128;
constexpr int64_t kNarrowestBlock = 16;

// d softplus(x) / dx applied to grad, with PyTorch's threshold.
template <typename T>
inline T softplus_grad(T x, T grad) {
  return x > T(20) ? grad : grad * sigmoid_t(x);
}

// dt for one token row of nc channels, vectorised across channels. (Optional inputs are branched on outside
// the loops: conditional loads inside them keep GCC from vectorising.)
template <typename T>
inline void step_sizes(const T* delta, const T* bias, bool softplus, int64_t nc, T* dt) {
  if (softplus && bias) {
#pragma omp simd
    for (int64_t j = 0; j < nc; ++j) dt[j] = softplus_t(delta[j] + bias[j]);
  } else if (softplus) {
#pragma omp simd
    for (int64_t j = 0; j < nc; ++j) dt[j] = softplus_t(delta[j]);
  } else if (bias) {
#pragma omp simd
    for (int64_t j = 0; j < nc; ++j) dt[j] = delta[j] + bias[j];
  } else {
    std::copy(delta, delta + nc, dt);
  }
}

// A transposed to (N, dim), so that one state index n reads a contiguous row across channels.
template <typename T>
std::vector<T> transpose_A(const SelectiveScanParams<T>& p) {
  std::vector<T> a_t(static_cast<std::size_t>(p.dim * p.dstate));
  for (int64_t d = 0; d < p.dim; ++d)
    for (int64_t n = 0; n < p.dstate; ++n) a_t[n * p.dim + d] = p.A[d * p.dstate + n];
  return a_t;
}

enum class Mode {
  kForward,  // writes y
  kAdvance,  // only moves the state on (checkpointing pass of the backward)
  kRecord,   // keeps h, exp(dt A), dt and the pre-gate output per token (recompute pass of the backward)
};

// The scan over tokens [t0, t1) for batch row b and channels [c0, c0 + nc). The state is laid out (N, nc): the
// innermost loops run across channels, the contiguous axis of every token-major tensor, so they vectorise
// without horizontal reductions and for any N.
//   kForward / kAdvance: `state` (N, nc) holds h_{t0-1} on entry (unread when t0 == 0), h_{t1-1} on exit;
//     dt and s are (nc) rows reused per token.
//   kRecord: `state` is (t1 - t0 + 1, N, nc): slice 0 holds h_{t0-1} on entry (unread when t0 == 0), slice
//     i + 1 receives h_{t0+i}; a_hist (t1 - t0, N, nc) receives exp(dt A) (not for t = 0, where h_{-1} = 0
//     makes it unused); dt and s are (t1 - t0, nc); s = <C_t, h_t> + D u_t, before the gate.
// du: an (nc) row buffer.
template <typename T, Mode kMode>
void scan_rows(const SelectiveScanParams<T>& p, const T* A_t, int64_t b, int64_t c0, int64_t nc, int64_t t0, int64_t t1,
               T* state, T* a_hist, T* dt_buf, T* s_buf, T* du) {
  constexpr bool kRec = kMode == Mode::kRecord;
  constexpr bool kOut = kMode != Mode::kAdvance;  // whether s = <C, h> + D u is needed
  const int64_t L = p.seqlen, N = p.dstate, dim = p.dim;
  const T* bias = p.delta_bias ? p.delta_bias + c0 : nullptr;
  const T* Dv = p.D ? p.D + c0 : nullptr;
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t i = t - t0;
    const T* u_t = p.u + b * p.u_batch_stride + t * p.u_l_stride + c0;
    const T* B_t = p.B + b * p.B_batch_stride + t * p.B_l_stride;
    const T* C_t = p.C + b * p.C_batch_stride + t * p.C_l_stride;
    T* dt = kRec ? dt_buf + i * nc : dt_buf;
    T* s = kRec ? s_buf + i * nc : s_buf;
    step_sizes(p.delta + b * p.delta_batch_stride + t * p.delta_l_stride + c0, bias, p.delta_softplus, nc, dt);
#pragma omp simd
    for (int64_t j = 0; j < nc; ++j) du[j] = dt[j] * u_t[j];
    if constexpr (kOut) {
      if (Dv) {
#pragma omp simd
        for (int64_t j = 0; j < nc; ++j) s[j] = Dv[j] * u_t[j];
      } else {
        std::fill(s, s + nc, T(0));
      }
    }
    for (int64_t n = 0; n < N; ++n) {
      const T B_n = B_t[n], C_n = C_t[n];
      const T* A_n = A_t + n * dim + c0;
      const T* hp = kRec ? state + (i * N + n) * nc : state + n * nc;
      T* hc = kRec ? state + ((i + 1) * N + n) * nc : state + n * nc;
      if (t == 0) {
        // h_{-1} = 0: no decay term, and no exp.
#pragma omp simd
        for (int64_t j = 0; j < nc; ++j) {
          const T h = du[j] * B_n;
          hc[j] = h;
          if constexpr (kOut) s[j] += C_n * h;
        }
      } else if constexpr (kRec) {
        T* a_n = a_hist + (i * N + n) * nc;
#pragma omp simd
        for (int64_t j = 0; j < nc; ++j) {
          const T a = exp_t(dt[j] * A_n[j]);
          const T h = a * hp[j] + du[j] * B_n;
          a_n[j] = a;
          hc[j] = h;
          s[j] += C_n * h;
        }
      } else {
#pragma omp simd
        for (int64_t j = 0; j < nc; ++j) {
          const T h = exp_t(dt[j] * A_n[j]) * hp[j] + du[j] * B_n;
          hc[j] = h;
          if constexpr (kOut) s[j] += C_n * h;
        }
      }
    }
    if constexpr (kMode == Mode::kForward) {
      // Gate, vectorised across channels.
      T* y = p.out + (b * L + t) * dim + c0;
      if (p.z) {
        const T* z_t = p.z + b * p.z_batch_stride + t * p.z_l_stride + c0;
#pragma omp simd
        for (int64_t j = 0; j < nc; ++j) y[j] = s[j] * z_t[j] * sigmoid_t(z_t[j]);
      } else {
        std::copy(s, s + nc, y);
      }
    }
  }
}

template <typename T>
void forward_impl(const SelectiveScanParams<T>& p) {
  const int nt = std::max(1, p.num_threads);
  const int64_t groups = channel_groups(p.batch, p.dim, nt);
  const int64_t items = p.batch * groups;
  const int64_t max_nc = (p.dim + groups - 1) / groups;
  const std::vector<T> A_t = transpose_A(p);
#pragma omp parallel num_threads(nt) if (nt > 1 && items > 1)
  {
    T* state = thread_scratch<T, ScanScratch>(static_cast<std::size_t>(max_nc * (p.dstate + 3)));
    T* dt = state + max_nc * p.dstate;
    T* s = dt + max_nc;
    T* du = s + max_nc;
#pragma omp for schedule(static)
    for (int64_t it = 0; it < items; ++it) {
      const int64_t b = it / groups, g = it % groups;
      const int64_t c0 = group_begin(g, groups, p.dim), c1 = group_begin(g + 1, groups, p.dim);
      scan_rows<T, Mode::kForward>(p, A_t.data(), b, c0, c1 - c0, 0, p.seqlen, state, nullptr, dt, s, du);
    }
  }
}

// One reverse step over the channels of state index n, for token t (kFirst: t = 0, where h_{-1} = 0).
// Updates the carry cy = a_t * dL/dh_t, the thread's dA row, and the per-channel sums ddt, gB; returns the
// channel sums for dB[t, n] and dC[t, n]. Those are accumulated in one vector's worth of lanes and added
// pairwise at the end (deterministic; OpenMP's simd reduction would merge the lanes one by one).
template <typename T, bool kFirst>
inline void reverse_state_row(int64_t nc, T B_n, T C_n, const T* ds, const T* dt, const T* dtu, const T* hc,
                              const T* hp, const T* a, const T* A_n, T* cy, T* dA_n, T* ddt, T* gB, T& sum_B,
                              T& sum_C) {
  constexpr int64_t kLanes = 64 / sizeof(T);
  T acc_B[kLanes] = {}, acc_C[kLanes] = {};
  const auto body = [&](int64_t j, T& aB, T& aC) {
    const T gh = ds[j] * C_n + cy[j];  // dL/dh_t
    aC += ds[j] * hc[j];
    aB += gh * dtu[j];
    gB[j] += gh * B_n;
    if constexpr (!kFirst) {
      const T x = gh * hp[j] * a[j];  // dL/d(dt A)
      dA_n[j] += x * dt[j];
      ddt[j] += x * A_n[j];
      cy[j] = a[j] * gh;
    }
  };
  int64_t j0 = 0;
  for (; j0 + kLanes <= nc; j0 += kLanes) {
#pragma omp simd
    for (int64_t l = 0; l < kLanes; ++l) body(j0 + l, acc_B[l], acc_C[l]);
  }
  for (int64_t l = 0; j0 + l < nc; ++l) body(j0 + l, acc_B[l], acc_C[l]);
  for (int64_t w = kLanes / 2; w >= 1; w /= 2) {
    for (int64_t l = 0; l < w; ++l) {
      acc_B[l] += acc_B[l + w];
      acc_C[l] += acc_C[l + w];
    }
  }
  sum_B = acc_B[0];
  sum_C = acc_C[0];
}

// How the backward walks one work item: channel blocks of cb, each in time chunks of tc tokens.
struct BackwardPlan {
  int64_t cb = 1, tc = 1, chunks = 1;
  int64_t scratch = 0;  // elements per thread
};

// Prefer the widest block that keeps the whole sequence's history (one exp pass). For long sequences keep
// blocks up to kWideBlock channels and split time into chunks, each restarted from a checkpointed state (a
// second exp pass, but the history stays in cache); narrow the block only if the checkpoints would not fit.
BackwardPlan plan_backward(int64_t L, int64_t N, int64_t max_nc, std::size_t elem_bytes) {
  const int64_t hist_budget = static_cast<int64_t>(kHistoryBytes / elem_bytes);
  const int64_t ckpt_budget = static_cast<int64_t>(kCheckpointBytes / elem_bytes);
  const int64_t per_token = 2 * N + 2;  // h, exp(dt A), dt, s per channel
  const int64_t fixed = 2 * N + 5;      // h_{t0-1}, carry and the row buffers per channel
  const int64_t width = std::max<int64_t>(max_nc, 1), len = std::max<int64_t>(L, 1);
  BackwardPlan plan;
  const int64_t cb_whole = hist_budget / (per_token * len + fixed);
  if (cb_whole >= std::min(width, kWideBlock)) {
    plan.cb = std::min(cb_whole, width);
    plan.tc = len;
  } else {
    plan.cb = std::min(width, kWideBlock);
    for (;;) {
      plan.tc = std::clamp<int64_t>((hist_budget / plan.cb - fixed) / per_token, 1, len);
      const int64_t chunks = (len + plan.tc - 1) / plan.tc;
      if (chunks * N * plan.cb <= ckpt_budget || plan.cb <= kNarrowestBlock) break;
      plan.cb = std::max<int64_t>(plan.cb / 2, kNarrowestBlock);
    }
  }
  plan.chunks = (len + plan.tc - 1) / plan.tc;
  plan.scratch = plan.cb * (per_token * plan.tc + fixed) + (plan.chunks > 1 ? plan.chunks * N * plan.cb : 0);
  return plan;
}

// Backward for one work item (batch row b, channels [c0, c1)). dB_row / dC_row: this item's (L, N) target,
// accumulated over blocks in order. part_dA_t (N, dim), part_dD (dim), part_dbias (dim): this thread's
// partial sums.
template <typename T>
void backward_item(const SelectiveScanParams<T>& p, const SelectiveScanGrads<T>& g, const T* A_t,
                   const BackwardPlan& plan, int64_t b, int64_t c0, int64_t c1, T* scratch, T* dB_row, T* dC_row,
                   T* part_dA_t, T* part_dD, T* part_dbias) {
  const int64_t L = p.seqlen, dim = p.dim, N = p.dstate, cb = plan.cb, tc = plan.tc;
  // Scratch layout (sized for cb channels and tc tokens).
  T* h_hist = scratch;                     // (tc + 1, N, cb)
  T* a_hist = h_hist + (tc + 1) * N * cb;  // (tc, N, cb)
  T* dt_hist = a_hist + tc * N * cb;       // (tc, cb)
  T* s_hist = dt_hist + tc * cb;           // (tc, cb)
  T* carry = s_hist + tc * cb;             // (N, cb): a_{t+1} * dL/dh_{t+1}
  T* ds = carry + N * cb;                  // (cb) dL/ds
  T* gB = ds + cb;                         // (cb) sum_n dL/dh_n B_n
  T* ddt = gB + cb;                        // (cb) dL/d dt
  T* dtu = ddt + cb;                       // (cb) dt * u; also the recompute's du row
  T* ckpt = dtu + cb;                      // (chunks, N, cb): slice c holds h_{c tc - 1}; slice 0 unused

  std::fill(dB_row, dB_row + L * N, T(0));
  std::fill(dC_row, dC_row + L * N, T(0));
  for (int64_t k0 = c0; k0 < c1; k0 += cb) {
    const int64_t nc = std::min(cb, c1 - k0);
    const int64_t slab = N * nc;
    // Checkpoints at the chunk starts.
    for (int64_t c = 1; c < plan.chunks; ++c) {
      if (c > 1) std::copy(ckpt + (c - 1) * slab, ckpt + c * slab, ckpt + c * slab);
      scan_rows<T, Mode::kAdvance>(p, A_t, b, k0, nc, (c - 1) * tc, c * tc, ckpt + c * slab, nullptr, dt_hist, s_hist,
                                   dtu);
    }
    const T* bias = p.delta_bias ? p.delta_bias + k0 : nullptr;
    const T* Dv = p.D ? p.D + k0 : nullptr;
    for (int64_t c = plan.chunks - 1; c >= 0; --c) {
      const int64_t t0 = c * tc, t1 = std::min(L, t0 + tc);
      if (c > 0) std::copy(ckpt + c * slab, ckpt + (c + 1) * slab, h_hist);
      scan_rows<T, Mode::kRecord>(p, A_t, b, k0, nc, t0, t1, h_hist, a_hist, dt_hist, s_hist, dtu);
      if (c == plan.chunks - 1) std::fill(carry, carry + slab, T(0));
      for (int64_t t = t1 - 1; t >= t0; --t) {
        const int64_t i = t - t0;
        const int64_t row = (b * L + t) * dim + k0;  // offset into the contiguous (batch, L, dim) tensors
        const T* u_t = p.u + b * p.u_batch_stride + t * p.u_l_stride + k0;
        const T* dy = g.dout + row;
        const T* s = s_hist + i * nc;
        const T* dt = dt_hist + i * nc;
        // Through the gate, vectorised across channels.
        if (p.z) {
          const T* z_t = p.z + b * p.z_batch_stride + t * p.z_l_stride + k0;
          T* dz = g.dz + row;
#pragma omp simd
          for (int64_t j = 0; j < nc; ++j) {
            const T sg = sigmoid_t(z_t[j]);
            ds[j] = dy[j] * z_t[j] * sg;
            dz[j] = dy[j] * s[j] * sg * (T(1) + z_t[j] * (T(1) - sg));
          }
        } else {
          std::copy(dy, dy + nc, ds);
        }
        T* dD = part_dD + k0;
#pragma omp simd
        for (int64_t j = 0; j < nc; ++j) {
          dD[j] += ds[j] * u_t[j];
          dtu[j] = dt[j] * u_t[j];
          gB[j] = T(0);
          ddt[j] = T(0);
        }
        const T* B_t = p.B + b * p.B_batch_stride + t * p.B_l_stride;
        const T* C_t = p.C + b * p.C_batch_stride + t * p.C_l_stride;
        T* dB_t = dB_row + t * N;
        T* dC_t = dC_row + t * N;
        for (int64_t n = 0; n < N; ++n) {
          const T* hp = h_hist + (i * N + n) * nc;        // h_{t-1}
          const T* hc = h_hist + ((i + 1) * N + n) * nc;  // h_t
          const T* a = a_hist + (i * N + n) * nc;         // exp(dt_t A)
          T sum_B, sum_C;
          if (t == 0) {
            reverse_state_row<T, true>(nc, B_t[n], C_t[n], ds, dt, dtu, hc, hp, a, A_t + n * dim + k0, carry + n * nc,
                                       part_dA_t + n * dim + k0, ddt, gB, sum_B, sum_C);
          } else {
            reverse_state_row<T, false>(nc, B_t[n], C_t[n], ds, dt, dtu, hc, hp, a, A_t + n * dim + k0, carry + n * nc,
                                        part_dA_t + n * dim + k0, ddt, gB, sum_B, sum_C);
          }
          dB_t[n] += sum_B;
          dC_t[n] += sum_C;
        }
        // du and, through softplus (PyTorch's threshold), ddelta; vectorised across channels. (Optional
        // inputs are branched on outside the loops: conditional loads inside keep GCC from vectorising.)
        const T* delta_t = p.delta + b * p.delta_batch_stride + t * p.delta_l_stride + k0;
        T* du = g.du + row;
        T* dd = g.ddelta + row;
        if (Dv) {
#pragma omp simd
          for (int64_t j = 0; j < nc; ++j) du[j] = ds[j] * Dv[j] + dt[j] * gB[j];
        } else {
#pragma omp simd
          for (int64_t j = 0; j < nc; ++j) du[j] = dt[j] * gB[j];
        }
#pragma omp simd
        for (int64_t j = 0; j < nc; ++j) ddt[j] += u_t[j] * gB[j];
        if (p.delta_softplus) {
          if (bias) {
#pragma omp simd
            for (int64_t j = 0; j < nc; ++j) dd[j] = softplus_grad(delta_t[j] + bias[j], ddt[j]);
          } else {
#pragma omp simd
            for (int64_t j = 0; j < nc; ++j) dd[j] = softplus_grad(delta_t[j], ddt[j]);
          }
        } else {
          std::copy(ddt, ddt + nc, dd);
        }
        T* db = part_dbias + k0;
#pragma omp simd
        for (int64_t j = 0; j < nc; ++j) db[j] += dd[j];
      }
    }
  }
}

template <typename T>
void backward_impl(const SelectiveScanParams<T>& p, const SelectiveScanGrads<T>& g) {
  const int nt = std::max(1, p.num_threads);
  const int64_t L = p.seqlen, dim = p.dim, N = p.dstate;
  const int64_t groups = channel_groups(p.batch, dim, nt);
  const int64_t items = p.batch * groups;
  const int64_t max_nc = (dim + groups - 1) / groups;
  const BackwardPlan plan = plan_backward(L, N, max_nc, sizeof(T));
  const std::vector<T> A_t = transpose_A(p);

  // Per-thread partials of the reductions over batch and time: dA as (N, dim), dD, d delta_bias; summed in
  // thread order at the end.
  const int64_t part_stride = N * dim + 2 * dim;
  std::vector<T> partials(static_cast<std::size_t>(nt * part_stride), T(0));
  // With several channel groups per row, each group writes its own (batch, L, N) slice of dB / dC.
  std::vector<T> group_dBC;
  if (groups > 1) group_dBC.assign(static_cast<std::size_t>(2 * groups * p.batch * L * N), T(0));

#pragma omp parallel num_threads(nt) if (nt > 1 && items > 1)
  {
    T* scratch = thread_scratch<T, ScanScratch>(static_cast<std::size_t>(plan.scratch));
    T* part = partials.data() + omp_get_thread_num() * part_stride;
#pragma omp for schedule(static)
    for (int64_t it = 0; it < items; ++it) {
      const int64_t b = it / groups, gi = it % groups;
      const int64_t c0 = group_begin(gi, groups, dim), c1 = group_begin(gi + 1, groups, dim);
      T* dB_row;
      T* dC_row;
      if (groups > 1) {
        dB_row = group_dBC.data() + (gi * p.batch + b) * L * N;
        dC_row = group_dBC.data() + ((groups + gi) * p.batch + b) * L * N;
      } else {
        dB_row = g.dB + b * L * N;
        dC_row = g.dC + b * L * N;
      }
      backward_item<T>(p, g, A_t.data(), plan, b, c0, c1, scratch, dB_row, dC_row, part, part + N * dim,
                       part + N * dim + dim);
    }
  }

  if (groups > 1) {
    const int64_t n_bc = p.batch * L * N;
    for (int64_t i = 0; i < n_bc; ++i) {
      T sb = 0, sc = 0;
      for (int64_t gi = 0; gi < groups; ++gi) {
        sb += group_dBC[gi * n_bc + i];
        sc += group_dBC[(groups + gi) * n_bc + i];
      }
      g.dB[i] = sb;
      g.dC[i] = sc;
    }
  }
  // Thread partials, always in thread order so a fixed thread count gives bit-identical results.
  for (int64_t d = 0; d < dim; ++d) {
    for (int64_t n = 0; n < N; ++n) {
      T acc = 0;
      for (int th = 0; th < nt; ++th) acc += partials[th * part_stride + n * dim + d];
      g.dA[d * N + n] = acc;
    }
    T acc_d = 0, acc_b = 0;
    for (int th = 0; th < nt; ++th) {
      acc_d += partials[th * part_stride + N * dim + d];
      acc_b += partials[th * part_stride + N * dim + dim + d];
    }
    if (g.dD) g.dD[d] = acc_d;
    if (g.ddelta_bias) g.ddelta_bias[d] = acc_b;
  }
}

}  // namespace

void selective_scan_fwd_cpu(const SelectiveScanParams<float>& p) { forward_impl(p); }
void selective_scan_fwd_cpu(const SelectiveScanParams<double>& p) { forward_impl(p); }
void selective_scan_bwd_cpu(const SelectiveScanParams<float>& p, const SelectiveScanGrads<float>& g) {
  backward_impl(p, g);
}
void selective_scan_bwd_cpu(const SelectiveScanParams<double>& p, const SelectiveScanGrads<double>& g) {
  backward_impl(p, g);
}

}  // namespace ftmamba::kernels
