// defines: one instruction-set path (FTMAMBA_KERNEL_ISA, see cpu_path.h) of the fused CPU selective-scan kernels
// of selective_scan_cpu.h: OpenMP over (batch x channel group) work items, SIMD across channels (any state size),
// plus the vectorisable float exp2 they rely on. Compiled once per path; cpu_isa.cpp dispatches.
// SIMD vectors run across channels, the unit-stride axis of u, delta, z and y, with the state held
// lane-blocked (see lane_base: per vector of channels, its N state vectors back to back). Vectorising over
// N instead needs a horizontal sum per (token, channel) for <C_t, h_t>; at the tabular shape that forward
// took 12.4 ms against 3.7 ms this way.
#include "ftmamba/kernels/selective_scan_cpu.h"

#include <omp.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <type_traits>
#include <vector>

#include "ftmamba/kernels/cpu_bf16_rows.h"
#include "ftmamba/kernels/cpu_math.h"
#include "ftmamba/kernels/cpu_path.h"
#include "ftmamba/kernels/cpu_simd.h"
#include "ftmamba/kernels/cpu_work_split.h"

FTMAMBA_DECLARE_CPU_PATH(FTMAMBA_KERNEL_ISA)

namespace ftmamba::kernels::FTMAMBA_KERNEL_ISA {
namespace {

struct ScanScratch;       // tags this kernel's per-thread scratch buffer
struct ScanStageScratch;  // and the float rows of a bfloat16 work item

using vmath::exp_v;
using vmath::sigmoid_t;
using vmath::softplus_grad;
using vmath::softplus_t;

// ---- the decay exp(dt A) ------------------------------------------------------------------------------------

// a * b + c with one rounding: std::fma on a float, the AVX-512 instruction on a simd::Vec<float>, and on other
// vector widths the compiler's contraction (fused where the target has FMA).
template <typename V>
inline V fma_v(V a, V b, V c) {
  if constexpr (std::is_arithmetic_v<V>) {
    return std::fma(a, b, c);
#if defined(__AVX512F__)
  } else if constexpr (std::is_same_v<V, simd::Vec<float>>) {
    return V(_mm512_fmadd_ps(__m512(a), __m512(b), __m512(c)));
#endif
  } else {
    return a * b + c;
  }
}

// 2^f for |f| <= 1/2 (a little beyond is fine): 1 + f q(f).
template <typename V>
inline V exp2_fraction(V f) {
  V q = simd::splat<V>(1.32646982e-3f);
  q = fma_v(q, f, simd::splat<V>(9.67150927e-3f));
  q = fma_v(q, f, simd::splat<V>(5.55073395e-2f));
  q = fma_v(q, f, simd::splat<V>(2.40222424e-1f));
  q = fma_v(q, f, simd::splat<V>(6.93147004e-1f));
  return fma_v(q, f, simd::splat<V>(1.0f));
}

// The scan's decay exp(dt A), taken as 2^(dt A2) with A2 = A log2(e) precomputed per (state, channel), on a
// float or a simd::Vec<float>. 2^y = 2^k 2^f with k = round(y) and f = y - k in [-1/2, 1/2], where f comes
// from the exact product dt A2 by one FMA; 2^f is 1 + f q(f) with q of degree 4, a relative minimax fit (error
// 1.1e-7 with float coefficients; 1 exactly at f = 0, so decays near 1 keep their full relative accuracy).
// With AVX-512, scalef applies 2^k and over/underflows to inf / 0 as exp does, so the 16 operations of exp_v
// on dt A (clamp, Cody-Waite split, degree 6, 2^k in the exponent bits) become 9: the tabular forward went
// from 3.8 to 2.4 ms. The scalar tail mirrors the vector steps one for one (nearbyint, fma, ldexp), so lanes
// and tail agree bitwise. Without AVX-512, k and 2^k are formed as exp_v forms them, after a clamp.
template <typename V>
inline V exp2_of_product(V dt, V a2) {
#if defined(__AVX512F__)
  const V y = dt * a2;
  V k;
  if constexpr (std::is_same_v<V, float>) {
    k = std::nearbyint(y);
  } else {
    // (The zero-masked forms with an all-ones mask: GCC 12 flags the unmasked ones' undefined source register.)
    k = V(_mm512_maskz_roundscale_ps(0xFFFF, __m512(y), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  const V f = fma_v(dt, a2, -k);
  const V p = exp2_fraction(f);
  if constexpr (std::is_same_v<V, float>) {
    // ldexp needs an int; beyond +-400 the result is 0 or inf either way (NaN stays NaN).
    return std::isnan(k) ? k : std::ldexp(p, static_cast<int>(std::clamp(k, -400.0f, 400.0f)));
  } else {
    return V(_mm512_maskz_scalef_ps(0xFFFF, __m512(p), __m512(k)));
  }
#else
  // Portable form: k by the round-to-integer shift of exp_v, 2^k built in the exponent bits, y clamped so
  // that it stays a normal float (14 operations).
  using I = std::conditional_t<std::is_same_v<V, float>, std::int32_t, simd::Vec<std::int32_t>>;
  const V y = simd::min(simd::max(dt * a2, simd::splat<V>(-126.0f)), simd::splat<V>(127.0f));
  constexpr float kShift = 12582912.0f;
  const V shifted = y + kShift;
  const V f = y - (shifted - kShift);
  const I k_bits = std::bit_cast<I>(shifted) << 23;
  return exp2_fraction(f) * std::bit_cast<V>(k_bits + (127 << 23));
#endif
}

// exp(dt A) for the scan on a float or double, scalar or simd::Vec, given A2 = A log2(e) (double: the
// library's exp2, lane by lane; the reference type).
template <typename V>
inline V decay_t(V dt, V a2) {
  if constexpr (std::is_same_v<simd::lane_t<V>, float>) {
    return exp2_of_product(dt, a2);
  } else if constexpr (std::is_same_v<V, double>) {
    return std::exp2(dt * a2);
  } else {
    V y = dt * a2;
    for (int64_t l = 0; l < simd::kLanes<double>; ++l) y[l] = std::exp2(y[l]);
    return y;
  }
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

// dt for one token row of nc channels, vectorised across channels. (Optional inputs are branched on outside
// the loops: conditional loads inside them keep GCC from vectorising.)
template <typename T>
inline void step_sizes(const T* delta, const T* bias, bool softplus, int64_t nc, T* dt) {
  using simd::load;
  if (softplus && bias) {
    simd::for_each_chunk<T>(nc, [&](auto v, int64_t j) {
      using Val = decltype(v);
      simd::store(dt + j, softplus_t(load<Val>(delta + j) + load<Val>(bias + j)));
    });
  } else if (softplus) {
    simd::for_each_chunk<T>(nc, [&](auto v, int64_t j) {
      using Val = decltype(v);
      simd::store(dt + j, softplus_t(load<Val>(delta + j)));
    });
  } else if (bias) {
#pragma omp simd
    for (int64_t j = 0; j < nc; ++j) dt[j] = delta[j] + bias[j];
  } else {
    std::copy(delta, delta + nc, dt);
  }
}

// Row t of delta over channels [c0, c0 + nc) of batch row b: read from p.delta, or, with p.dt_low, made in buf
// (nc) as sum_r dt_low[b, t, r] dt_proj_t[r, c0 + j], vectorised across channels.
template <typename T>
inline const T* delta_row(const SelectiveScanParams<T>& p, int64_t b, int64_t t, int64_t c0, int64_t nc, T* buf) {
  if (!p.dt_low) return p.delta + b * p.delta_batch_stride + t * p.delta_l_stride + c0;
  const T* lo = p.dt_low + b * p.dt_low_batch_stride + t * p.dt_low_l_stride;
  const T* w = p.dt_proj_t + c0;
  const int64_t ws = p.dt_proj_t_stride;
  simd::for_each_chunk<T>(nc, [&](auto v, int64_t j) {
    using Val = decltype(v);
    Val acc = simd::load<Val>(w + j) * lo[0];
    for (int64_t r = 1; r < p.dt_rank; ++r) acc += simd::load<Val>(w + r * ws + j) * lo[r];
    simd::store(buf + j, acc);
  });
  return buf;
}

// ---- the lane-blocked layout ---------------------------------------------------------------------------
// Every (state, channel) array of the scan (A, the state, its history, the backward's carry and dA) is held
// lane-blocked: channels in blocks of one SIMD vector (V lanes), and each block holds its N state vectors
// back to back. Element (n, j) of an array whose first channel starts a block sits at lane_base(j) + n V, so
// the states of one channel vector lie at fixed offsets from one pointer. With a row-major (N, channels)
// layout, the reverse step's block of 8 states needed a pointer per state and array (48) and spilled them.
template <typename T>
inline int64_t lane_base(int64_t j, int64_t N) {
  const int64_t r = j % simd::kLanes<T>;
  return (j - r) * N + r;
}

// Elements of a lane-blocked array over nc channels (the last block padded to whole vectors).
template <typename T>
inline int64_t blocked_size(int64_t nc, int64_t N) {
  constexpr int64_t V = simd::kLanes<T>;
  return (nc + V - 1) / V * V * N;
}

// First channel of work group g of `groups` over `dim` channels, at a vector boundary (so that every group's
// slice of the lane-blocked A and dA starts a block); groups may differ by a vector in width.
template <typename T>
inline int64_t scan_group_begin(int64_t g, int64_t groups, int64_t dim) {
  constexpr int64_t V = simd::kLanes<T>;
  return g == groups ? dim : group_begin(g, groups, dim) / V * V;
}

// Widest channel group of the split above.
template <typename T>
int64_t widest_group(int64_t groups, int64_t dim) {
  int64_t w = 0;
  for (int64_t g = 0; g < groups; ++g)
    w = std::max(w, scan_group_begin<T>(g + 1, groups, dim) - scan_group_begin<T>(g, groups, dim));
  return w;
}

// A (dim, N) lane-blocked over all dim channels, times `scale`.
template <typename T, typename Act>
std::vector<T> blocked_A(const SelectiveScanParams<T, Act>& p, T scale) {
  std::vector<T> a(static_cast<std::size_t>(blocked_size<T>(p.dim, p.dstate)), T(0));
  for (int64_t d = 0; d < p.dim; ++d)
    for (int64_t n = 0; n < p.dstate; ++n)
      a[lane_base<T>(d, p.dstate) + n * simd::kLanes<T>] = p.A[d * p.dstate + n] * scale;
  return a;
}

// log2(e): the state update takes A as A log2(e) (see decay_t).
template <typename T>
constexpr T kLog2e = T(1.44269504088896340736);

enum class Mode {
  kForward,  // writes y
  kAdvance,  // only moves the state on (checkpointing pass of the backward)
  kRecord,   // keeps h, exp(dt A), dt and the pre-gate output per token (recompute pass of the backward)
};

// One token's state update over nc channels and all N state indices (kFirst: t = 0, where h_{-1} = 0 and no
// exp is needed): h_n = exp(dt A_n) h_n + dt u B_n for each n, and, unless kAdvance, s = D u + sum_n C_n h_n.
// Channel vectors run outside and states inside, so dt, dt u and s stay in registers while the N states pass.
// All (state, channel) arrays are lane-blocked over these nc channels:
//   A2: A log2(e); hp / hc: states before / after (may alias); a_t (kRecord) receives exp(dt A);
//   s: (nc) receives s (not for kAdvance).
template <typename T, Mode kMode, bool kFirst>
inline void state_update(int64_t nc, int64_t N, const T* A2, const T* B_t, const T* C_t, const T* Dv, const T* u_t,
                         const T* dt, const T* du, const T* hp, T* hc, T* a_t, T* s) {
  constexpr int64_t V = simd::kLanes<T>;
  constexpr bool kOut = kMode != Mode::kAdvance;
  const auto body = [&](auto dt_j, auto du_j, auto s_j, int64_t j) {
    using Val = decltype(dt_j);
    const int64_t base = lane_base<T>(j, N);
    for (int64_t n = 0; n < N; ++n) {
      const int64_t k = base + n * V;
      Val h = du_j * B_t[n];
      if constexpr (!kFirst) {
        const Val a = decay_t(dt_j, simd::load<Val>(A2 + k));
        if constexpr (kMode == Mode::kRecord) simd::store(a_t + k, a);
        h += a * simd::load<Val>(hp + k);
      }
      simd::store(hc + k, h);
      if constexpr (kOut) s_j += C_t[n] * h;
    }
    if constexpr (kOut) simd::store(s + j, s_j);
  };
  using Vec = simd::Vec<T>;
  int64_t j = 0;
  for (; j + V <= nc; j += V) {
    const Vec u = simd::load<Vec>(u_t + j);
    body(simd::load<Vec>(dt + j), simd::load<Vec>(du + j), Dv ? simd::load<Vec>(Dv + j) * u : Vec{}, j);
  }
  for (; j < nc; ++j) body(dt[j], du[j], Dv ? Dv[j] * u_t[j] : T(0), j);
}

// The scan over tokens [t0, t1) for batch row b and channels [c0, c0 + nc), c0 at a vector boundary. SIMD
// vectors run across channels, the contiguous axis of every token-major tensor, so they need no horizontal
// reductions and work for any N. A "slab" is one lane-blocked (N, nc) array (blocked_size elements).
//   A2: A log2(e), lane-blocked over all channels.
//   kForward / kAdvance: `state` (one slab) holds h_{t0-1} on entry (unread when t0 == 0), h_{t1-1} on exit;
//     dt and s are (nc) rows reused per token.
//   kRecord: `state` is t1 - t0 + 1 slabs: slab 0 holds h_{t0-1} on entry (unread when t0 == 0), slab i + 1
//     receives h_{t0+i}; a_hist (t1 - t0 slabs) receives exp(dt A) (not for t = 0, where h_{-1} = 0 makes it
//     unused); dt and s are (t1 - t0, nc); s = <C_t, h_t> + D u_t, before the gate.
// du: an (nc) row buffer.
template <typename T, Mode kMode>
void scan_rows(const SelectiveScanParams<T>& p, const T* A2, int64_t b, int64_t c0, int64_t nc, int64_t t0, int64_t t1,
               T* state, T* a_hist, T* dt_buf, T* s_buf, T* du) {
  constexpr bool kRec = kMode == Mode::kRecord;
  const int64_t L = p.seqlen, N = p.dstate, dim = p.dim, slab = blocked_size<T>(nc, N);
  const T* bias = p.delta_bias ? p.delta_bias + c0 : nullptr;
  const T* Dv = p.D ? p.D + c0 : nullptr;
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t i = t - t0;
    const T* u_t = p.u + b * p.u_batch_stride + t * p.u_l_stride + c0;
    const T* B_t = p.B + b * p.B_batch_stride + t * p.B_l_stride;
    const T* C_t = p.C + b * p.C_batch_stride + t * p.C_l_stride;
    T* dt = kRec ? dt_buf + i * nc : dt_buf;
    T* s = kRec ? s_buf + i * nc : s_buf;
    step_sizes(delta_row(p, b, t, c0, nc, du), bias, p.delta_softplus, nc, dt);  // du: delta's row, if made
#pragma omp simd
    for (int64_t j = 0; j < nc; ++j) du[j] = dt[j] * u_t[j];
    const T* hp = kRec ? state + i * slab : state;
    T* hc = kRec ? state + (i + 1) * slab : state;
    T* a_t = kRec ? a_hist + i * slab : nullptr;
    if (t == 0) {
      state_update<T, kMode, true>(nc, N, A2 + c0 * N, B_t, C_t, Dv, u_t, dt, du, hp, hc, a_t, s);
    } else {
      state_update<T, kMode, false>(nc, N, A2 + c0 * N, B_t, C_t, Dv, u_t, dt, du, hp, hc, a_t, s);
    }
    if constexpr (kMode == Mode::kForward) {
      // Gate, vectorised across channels.
      T* y = p.out + (b * L + t) * dim + c0;
      if (p.z) {
        const T* z_t = p.z + b * p.z_batch_stride + t * p.z_l_stride + c0;
        simd::for_each_chunk<T>(nc, [&](auto v, int64_t j) {
          using Val = decltype(v);
          const Val z = simd::load<Val>(z_t + j);
          simd::store(y + j, simd::load<Val>(s + j) * z * sigmoid_t(z));
        });
      } else {
        std::copy(s, s + nc, y);
      }
    }
  }
}

// ---- bfloat16 activations -------------------------------------------------------------------------------
// With Act = Bf16 a work item (batch row b, channels [c0, c0 + nc)) is widened into float rows, run by the float
// code as a batch of one whose channels start at 0, and its outputs are rounded back: the arithmetic and the
// state are those of the float kernel, and no float copy of a whole activation tensor is ever made. Items whose
// rows would exceed kStageBytes go in channel slices (long sequences).

// Float rows of one staged slice: u, delta, z, dout, du, ddelta, dz as (L, w), B and C as (L, N), dt_low as
// (L, R) (R = 0 without it).
inline int64_t stage_elements(int64_t L, int64_t w, int64_t N, int64_t R) { return 7 * L * w + L * (2 * N + R); }

// Channels per staged slice of an item of nc channels: all of them when they fit, else whole vectors.
template <typename T>
int64_t stage_width(int64_t L, int64_t N, int64_t R, int64_t nc) {
  const int64_t budget = static_cast<int64_t>(kStageBytes / sizeof(T));
  if (stage_elements(L, nc, N, R) <= budget) return nc;
  const int64_t w = (budget / L - 2 * N - R) / 7;
  return std::max<int64_t>(simd::kLanes<T>, w / simd::kLanes<T> * simd::kLanes<T>);
}

// The float view of channels [c0, c0 + w) of batch row b: the activations widened into `rows`
// (stage_elements(L, w, N, R) floats, laid out as stage_elements counts them), parameters offset to c0.
template <typename T>
SelectiveScanParams<T> stage_item(const SelectiveScanParams<T, Bf16>& p, int64_t b, int64_t c0, int64_t w, T* rows) {
  const int64_t L = p.seqlen, N = p.dstate;
  SelectiveScanParams<T> q;
  q.batch = 1;
  q.seqlen = L;
  q.dim = w;
  q.dstate = N;
  q.delta_softplus = p.delta_softplus;
  q.D = p.D ? p.D + c0 : nullptr;
  q.delta_bias = p.delta_bias ? p.delta_bias + c0 : nullptr;
  T* u = rows;
  T* delta = u + L * w;
  T* z = delta + L * w;
  T* B = rows + 7 * L * w;
  T* C = B + L * N;
  T* dt_low = C + L * N;
  stage_rows(p.u + b * p.u_batch_stride + c0, p.u_l_stride, L, w, u);
  if (p.dt_low) {
    stage_rows(p.dt_low + b * p.dt_low_batch_stride, p.dt_low_l_stride, L, p.dt_rank, dt_low);
    q.dt_low = dt_low;
    q.dt_low_l_stride = p.dt_rank;
    q.dt_rank = p.dt_rank;
    q.dt_proj_t = p.dt_proj_t + c0;
    q.dt_proj_t_stride = p.dt_proj_t_stride;
  } else {
    stage_rows(p.delta + b * p.delta_batch_stride + c0, p.delta_l_stride, L, w, delta);
    q.delta = delta;
    q.delta_l_stride = w;
  }
  stage_rows(p.B + b * p.B_batch_stride, p.B_l_stride, L, N, B);
  stage_rows(p.C + b * p.C_batch_stride, p.C_l_stride, L, N, C);
  if (p.z) stage_rows(p.z + b * p.z_batch_stride + c0, p.z_l_stride, L, w, z);
  q.u = u;
  q.u_l_stride = w;
  q.B = B;
  q.B_l_stride = N;
  q.C = C;
  q.C_l_stride = N;
  q.z = p.z ? z : nullptr;
  q.z_l_stride = w;
  return q;
}

// The staged slice's other (L, w) rows: dout, then du, ddelta, dz (the backward), or out (the forward).
template <typename T>
T* staged_rows(T* rows, int64_t L, int64_t w, int i) {
  return rows + (3 + i) * L * w;
}

template <typename T, typename Act>
void forward_impl(const SelectiveScanParams<T, Act>& p) {
  const int nt = std::max(1, p.num_threads);
  const int64_t L = p.seqlen, N = p.dstate, dim = p.dim, R = p.dt_low ? p.dt_rank : 0;
  const int64_t groups = channel_groups(p.batch, dim, nt);
  const int64_t items = p.batch * groups;
  const int64_t max_nc = widest_group<T>(groups, dim);
  const int64_t slab = blocked_size<T>(max_nc, N);
  const std::vector<T> A2 = blocked_A(p, kLog2e<T>);
  constexpr bool kStaged = !std::is_same_v<Act, T>;
  const int64_t sw = kStaged ? stage_width<T>(L, N, R, max_nc) : 0;
#pragma omp parallel num_threads(nt) if (nt > 1 && items > 1)
  {
    T* state = thread_scratch<T, ScanScratch>(static_cast<std::size_t>(slab + 3 * max_nc));
    T* dt = state + slab;
    T* s = dt + max_nc;
    T* du = s + max_nc;
    T* rows =
        kStaged ? thread_scratch<T, ScanStageScratch>(static_cast<std::size_t>(stage_elements(L, sw, N, R))) : nullptr;
#pragma omp for schedule(static)
    for (int64_t it = 0; it < items; ++it) {
      const int64_t b = it / groups, g = it % groups;
      const int64_t c0 = scan_group_begin<T>(g, groups, dim), c1 = scan_group_begin<T>(g + 1, groups, dim);
      if constexpr (kStaged) {
        for (int64_t k0 = c0; k0 < c1; k0 += sw) {
          const int64_t w = std::min(sw, c1 - k0);
          SelectiveScanParams<T> q = stage_item(p, b, k0, w, rows);
          q.out = staged_rows(rows, L, w, 0);
          scan_rows<T, Mode::kForward>(q, A2.data() + k0 * N, 0, 0, w, 0, L, state, nullptr, dt, s, du);
          unstage_rows(q.out, L, w, p.out + b * L * dim + k0, dim);
        }
      } else {
        scan_rows<T, Mode::kForward>(p, A2.data(), b, c0, c1 - c0, 0, L, state, nullptr, dt, s, du);
      }
    }
  }
}

// Inputs of one reverse step (token t) over one channel block of nc channels; the (state, channel) arrays
// are lane-blocked over the block.
template <typename T>
struct ReverseStep {
  int64_t nc = 0, N = 0;
  const T* ds;   // (nc) dL/ds_t
  const T* dt;   // (nc) dt_t
  const T* dtu;  // (nc) dt_t * u_t
  const T* hp;   // h_{t-1}
  const T* a;    // exp(dt_t A)
  const T* A;    // A
  const T* B;    // (N) B_t
  const T* C;    // (N) C_t
  T* carry;      // a_{t+1} * dL/dh_{t+1} on entry, a_t * dL/dh_t on exit
  T* dA;         // this thread's dA partial
  T* gB;         // (nc) sum_n dL/dh_n B_n, accumulated
  T* ddt;        // (nc) dL/d dt, accumulated
};

// State indices per register block of the reverse step: its dB / dC lane sums stay in 2 W registers while
// the channel vectors pass, so ds, dt, dt u, gB and ddt are loaded once per block instead of once per state.
constexpr int kStateBlock = simd::kBytes == 64 ? 8 : 4;

// The reverse step for state indices [n0, n0 + W) (kFirst: t = 0, where h_{-1} = 0). Updates the carry, the
// dA rows, gB and ddt, and writes the channel sums for dB[t, n] and dC[t, n] to sum_B / sum_C[n - n0]. Each
// sum gathers its channels in lanes and adds the lanes pairwise at the end (deterministic).
template <typename T, int W, bool kFirst>
inline void reverse_state_block(const ReverseStep<T>& r, int64_t n0, T* sum_B, T* sum_C) {
  using Vec = simd::Vec<T>;
  constexpr int64_t V = simd::kLanes<T>;
  const int64_t nc = r.nc, N = r.N;
  // Local copies, so that the compiler keeps them in registers across the stores.
  const T *hp = r.hp, *a_row = r.a, *A = r.A, *B = r.B + n0, *C = r.C + n0;
  T *carry = r.carry, *dA = r.dA;
  // One (state n0 + w, channel vector) of the step, at lane-blocked offset s; Val is Vec for full vectors and T
  // for the tail.
  const auto body = [&](auto ds, auto dt, auto dtu, auto& gB, auto& ddt, auto& acc_B, auto& acc_C, int w, int64_t s) {
    using Val = decltype(ds);
    const Val gh = ds * C[w] + simd::load<Val>(carry + s);  // dL/dh_t
    // h_t again from h_{t-1}, by the recompute's own operations: two FMA-class operations in place of a
    // third load from the history, which lives in L2 (backward -2 to -9% over the benchmark shapes).
    Val h = dtu * B[w];
    Val a{}, h_prev{};
    if constexpr (!kFirst) {
      a = simd::load<Val>(a_row + s);
      h_prev = simd::load<Val>(hp + s);
      h += a * h_prev;
    }
    acc_C += ds * h;
    acc_B += gh * dtu;
    gB += gh * B[w];
    if constexpr (!kFirst) {
      const Val carry_t = a * gh;      // a_t dL/dh_t, also a factor of x
      const Val x = carry_t * h_prev;  // dL/d(dt A)
      simd::store(dA + s, simd::load<Val>(dA + s) + x * dt);
      ddt += x * simd::load<Val>(A + s);
      simd::store(carry + s, carry_t);
    }
  };
  Vec acc_B[W] = {}, acc_C[W] = {};
  int64_t j = 0;
  for (; j + V <= nc; j += V) {
    const Vec ds = simd::load<Vec>(r.ds + j), dt = simd::load<Vec>(r.dt + j), dtu = simd::load<Vec>(r.dtu + j);
    Vec gB = simd::load<Vec>(r.gB + j), ddt = simd::load<Vec>(r.ddt + j);
    const int64_t s0 = lane_base<T>(j, N) + n0 * V;
    // gB and ddt sum over the W states: even and odd states feed separate chains, halving the dependent
    // FMA latency along w.
    Vec gB_odd{}, ddt_odd{};
#pragma GCC unroll 8
    for (int w = 0; w < W; w += 2) {
      body(ds, dt, dtu, gB, ddt, acc_B[w], acc_C[w], w, s0 + w * V);
      if (w + 1 < W) body(ds, dt, dtu, gB_odd, ddt_odd, acc_B[w + 1], acc_C[w + 1], w + 1, s0 + (w + 1) * V);
    }
    simd::store(r.gB + j, gB + gB_odd);
    simd::store(r.ddt + j, ddt + ddt_odd);
  }
  T tail_B[W] = {}, tail_C[W] = {};
  for (; j < nc; ++j) {
    T gB = r.gB[j], ddt = r.ddt[j];
    const int64_t s0 = lane_base<T>(j, N) + n0 * V;
    for (int w = 0; w < W; ++w) body(r.ds[j], r.dt[j], r.dtu[j], gB, ddt, tail_B[w], tail_C[w], w, s0 + w * V);
    r.gB[j] = gB;
    r.ddt[j] = ddt;
  }
  for (int w = 0; w < W; ++w) {
    sum_B[w] = simd::lane_sum(acc_B[w]) + tail_B[w];
    sum_C[w] = simd::lane_sum(acc_C[w]) + tail_C[w];
  }
}

// The reverse step over all N state indices, in blocks of kStateBlock and then of 4, 2 and 1 for the rest.
// Adds the dB / dC channel sums to dB_t / dC_t (N).
template <typename T, bool kFirst>
void reverse_step(const ReverseStep<T>& r, int64_t N, T* dB_t, T* dC_t) {
  T sum_B[kStateBlock], sum_C[kStateBlock];
  int64_t n0 = 0;
  const auto add_sums = [&](int64_t w) {
    for (int64_t i = 0; i < w; ++i) {
      dB_t[n0 + i] += sum_B[i];
      dC_t[n0 + i] += sum_C[i];
    }
    n0 += w;
  };
  while (N - n0 >= kStateBlock) {
    reverse_state_block<T, kStateBlock, kFirst>(r, n0, sum_B, sum_C);
    add_sums(kStateBlock);
  }
  if constexpr (kStateBlock > 4) {
    if (N - n0 >= 4) {
      reverse_state_block<T, 4, kFirst>(r, n0, sum_B, sum_C);
      add_sums(4);
    }
  }
  if (N - n0 >= 2) {
    reverse_state_block<T, 2, kFirst>(r, n0, sum_B, sum_C);
    add_sums(2);
  }
  if (N - n0 >= 1) {
    reverse_state_block<T, 1, kFirst>(r, n0, sum_B, sum_C);
    add_sums(1);
  }
}

// How the backward walks one work item: channel blocks of cb, each in time chunks of tc tokens.
struct BackwardPlan {
  int64_t cb = 1, tc = 1, chunks = 1;
  int64_t slab = 0;     // elements of one lane-blocked (N, cb) array
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
  const int64_t lanes = static_cast<int64_t>(simd::kBytes / elem_bytes);
  BackwardPlan plan;
  const int64_t cb_whole = hist_budget / (per_token * len + fixed);
  if (cb_whole >= std::min(width, kWideBlock)) {
    // A block that does not span the whole row holds whole SIMD vectors (cb_whole >= kWideBlock here), so
    // that every block starts one in the lane-blocked arrays and only the row's last can end in a scalar
    // tail (d_inner 256 at L 13 had split into 136 + 120 channels, a quarter of the backward's time).
    plan.cb = std::min(cb_whole, width);
    if (plan.cb < width) plan.cb -= plan.cb % lanes;
    plan.tc = len;
  } else {
    plan.cb = std::min(width, kWideBlock);  // kWideBlock / 2^i >= kNarrowestBlock: whole vectors
    for (;;) {
      plan.tc = std::clamp<int64_t>((hist_budget / plan.cb - fixed) / per_token, 1, len);
      const int64_t chunks = (len + plan.tc - 1) / plan.tc;
      if (chunks * N * plan.cb <= ckpt_budget || plan.cb <= kNarrowestBlock) break;
      plan.cb = std::max<int64_t>(plan.cb / 2, kNarrowestBlock);
    }
  }
  plan.chunks = (len + plan.tc - 1) / plan.tc;
  // (2 tc + 2) slabs of history and carry, (tc + 1) slabs of checkpoints when chunked, 2 tc + 4 rows.
  plan.slab = (plan.cb + lanes - 1) / lanes * lanes * N;
  plan.scratch = plan.slab * (2 * plan.tc + 2 + (plan.chunks > 1 ? plan.chunks : 0)) + plan.cb * (2 * plan.tc + 4);
  return plan;
}

// Where one work item's backward adds up: dB / dC / d dt_low, (L, N), (L, N) and (L, R) rows of this item,
// accumulated over its channel blocks in order (onto what they hold when add_to_rows, else from zero); and this
// thread's partial sums, indexed by p's channels: dA (lane-blocked), dD (dim), d delta_bias (dim), and, with
// dt_low, d dt_proj_t (R rows dWt_stride apart).
template <typename T>
struct ItemSums {
  T *dB_row, *dC_row, *d_dt_low_row;
  T *dA, *dD, *dbias, *dWt;
  int64_t dWt_stride;
  bool add_to_rows;
};

// d dt_low[t, r] += sum_j dd[j] dt_proj_t[r, c0 + j] for one token over nc channels: dt_proj inside the scan, the
// gradient of its input beside delta's.
template <typename T>
inline void low_rank_input_grad(const SelectiveScanParams<T>& p, const T* dd, int64_t c0, int64_t nc, T* d_lo) {
  using Vec = simd::Vec<T>;
  constexpr int64_t V = simd::kLanes<T>;
  for (int64_t r = 0; r < p.dt_rank; ++r) {
    const T* w = p.dt_proj_t + r * p.dt_proj_t_stride + c0;
    Vec acc{};
    int64_t j = 0;
    for (; j + V <= nc; j += V) acc += simd::load<Vec>(dd + j) * simd::load<Vec>(w + j);
    T tail = 0;
    for (; j < nc; ++j) tail += dd[j] * w[j];
    d_lo[r] += simd::lane_sum(acc) + tail;
  }
}

// d dt_proj_t[r, c0 + j] += sum_i dt_low[t0 + i, r] dd_hist[i, j] over a time chunk's n tokens, dd_hist (n, nc):
// the weight's gradient once per chunk, its sums over tokens in registers (a block of 4 ranks by one channel vector),
// where adding each token into memory took a load and a store per rank and channel.
template <typename T>
void low_rank_weight_grad(const SelectiveScanParams<T>& p, int64_t b, int64_t t0, int64_t n, const T* dd_hist,
                          int64_t c0, int64_t nc, T* dWt, int64_t dWt_stride) {
  using Vec = simd::Vec<T>;
  constexpr int64_t V = simd::kLanes<T>;
  constexpr int64_t kRanks = 4;
  const T* lo0 = p.dt_low + b * p.dt_low_batch_stride + t0 * p.dt_low_l_stride;
  for (int64_t r0 = 0; r0 < p.dt_rank; r0 += kRanks) {
    const int64_t rb = std::min(kRanks, p.dt_rank - r0);
    const auto add = [&](auto zero, int64_t j) {
      using Val = decltype(zero);
      Val acc[kRanks] = {};
      for (int64_t i = 0; i < n; ++i) {
        const Val d = simd::load<Val>(dd_hist + i * nc + j);
        const T* lo = lo0 + i * p.dt_low_l_stride + r0;
        for (int64_t w = 0; w < kRanks; ++w)
          if (w < rb) acc[w] += d * lo[w];
      }
      for (int64_t w = 0; w < rb; ++w) {
        T* dw = dWt + (r0 + w) * dWt_stride + c0 + j;
        simd::store(dw, simd::load<Val>(dw) + acc[w]);
      }
    };
    int64_t j = 0;
    for (; j + V <= nc; j += V) add(Vec{}, j);
    for (; j < nc; ++j) add(T{}, j);
  }
}

// Backward for one work item (batch row b, channels [c0, c1), c0 at a vector boundary), adding up into `sums`.
// A / A2: A and A log2(e), lane-blocked over all channels.
template <typename T>
void backward_item(const SelectiveScanParams<T>& p, const SelectiveScanGrads<T>& g, const T* A, const T* A2,
                   const BackwardPlan& plan, int64_t b, int64_t c0, int64_t c1, T* scratch, const ItemSums<T>& sums) {
  const int64_t L = p.seqlen, dim = p.dim, N = p.dstate, cb = plan.cb, tc = plan.tc;
  // Scratch layout, sized for cb channels and tc tokens; a slab is one lane-blocked (N, channels) array, of
  // plan.slab elements here and of blocked_size(nc, N) as a block of nc channels indexes it.
  T* h_hist = scratch;                        // tc + 1 slabs
  T* a_hist = h_hist + (tc + 1) * plan.slab;  // tc slabs
  T* carry = a_hist + tc * plan.slab;         // 1 slab: a_{t+1} * dL/dh_{t+1}
  T* ckpt = carry + plan.slab;                // chunks slabs: slab c holds h_{c tc - 1}; slab 0 unused
  T* dt_hist = ckpt + (plan.chunks > 1 ? plan.chunks * plan.slab : 0);  // (tc, cb)
  T* s_hist = dt_hist + tc * cb;                                        // (tc, cb)
  T* ds = s_hist + tc * cb;                                             // (cb) dL/ds
  T* gB = ds + cb;                                                      // (cb) sum_n dL/dh_n B_n
  T* ddt = gB + cb;                                                     // (cb) dL/d dt
  T* dtu = ddt + cb;                                                    // (cb) dt * u; also the recompute's du row

  const int64_t R = p.dt_low ? p.dt_rank : 0;
  T *dB_row = sums.dB_row, *dC_row = sums.dC_row, *part_dA = sums.dA, *part_dD = sums.dD, *part_dbias = sums.dbias;
  if (!sums.add_to_rows) {
    std::fill(dB_row, dB_row + L * N, T(0));
    std::fill(dC_row, dC_row + L * N, T(0));
    if (R > 0) std::fill(sums.d_dt_low_row, sums.d_dt_low_row + L * R, T(0));
  }
  for (int64_t k0 = c0; k0 < c1; k0 += cb) {
    const int64_t nc = std::min(cb, c1 - k0);
    const int64_t slab = blocked_size<T>(nc, N);
    // Checkpoints at the chunk starts.
    for (int64_t c = 1; c < plan.chunks; ++c) {
      if (c > 1) std::copy(ckpt + (c - 1) * slab, ckpt + c * slab, ckpt + c * slab);
      scan_rows<T, Mode::kAdvance>(p, A2, b, k0, nc, (c - 1) * tc, c * tc, ckpt + c * slab, nullptr, dt_hist, s_hist,
                                   dtu);
    }
    const T* bias = p.delta_bias ? p.delta_bias + k0 : nullptr;
    const T* Dv = p.D ? p.D + k0 : nullptr;
    for (int64_t c = plan.chunks - 1; c >= 0; --c) {
      const int64_t t0 = c * tc, t1 = std::min(L, t0 + tc);
      if (c > 0) std::copy(ckpt + c * slab, ckpt + (c + 1) * slab, h_hist);
      scan_rows<T, Mode::kRecord>(p, A2, b, k0, nc, t0, t1, h_hist, a_hist, dt_hist, s_hist, dtu);
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
          T* dz = g.dz + b * g.dz_batch_stride + t * g.dz_l_stride + k0;
          simd::for_each_chunk<T>(nc, [&](auto v, int64_t j) {
            using Val = decltype(v);
            const Val z = simd::load<Val>(z_t + j), d = simd::load<Val>(dy + j);
            const Val sg = sigmoid_t(z);
            simd::store(ds + j, d * z * sg);
            simd::store(dz + j, d * simd::load<Val>(s + j) * sg * (T(1) + z * (T(1) - sg)));
          });
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
        const ReverseStep<T> step{
            nc, N,  ds, dt, dtu, h_hist + i * slab, a_hist + i * slab, A + k0 * N, B_t, C_t, carry, part_dA + k0 * N,
            gB, ddt};
        if (t == 0) {
          reverse_step<T, true>(step, N, dB_row + t * N, dC_row + t * N);
        } else {
          reverse_step<T, false>(step, N, dB_row + t * N, dC_row + t * N);
        }
        // du and, through softplus (PyTorch's threshold), ddelta; vectorised across channels. (Optional
        // inputs are branched on outside the loops: conditional loads inside keep GCC from vectorising.)
        T* du = g.du + row;
        if (Dv) {
#pragma omp simd
          for (int64_t j = 0; j < nc; ++j) du[j] = ds[j] * Dv[j] + dt[j] * gB[j];
        } else {
#pragma omp simd
          for (int64_t j = 0; j < nc; ++j) du[j] = dt[j] * gB[j];
        }
#pragma omp simd
        for (int64_t j = 0; j < nc; ++j) ddt[j] += u_t[j] * gB[j];
        // dt u and s are spent: delta's row, when made from dt_low, goes in dtu, and ddelta, when not written
        // out, in s's row of the history (for the chunk's weight gradient, low_rank_weight_grad).
        const T* delta_t = delta_row(p, b, t, k0, nc, dtu);
        T* dd = g.ddelta ? g.ddelta + row : s_hist + i * nc;
        if (p.delta_softplus) {
          using simd::load;
          if (bias) {
            simd::for_each_chunk<T>(nc, [&](auto v, int64_t j) {
              using Val = decltype(v);
              simd::store(dd + j, softplus_grad(load<Val>(delta_t + j) + load<Val>(bias + j), load<Val>(ddt + j)));
            });
          } else {
            simd::for_each_chunk<T>(nc, [&](auto v, int64_t j) {
              using Val = decltype(v);
              simd::store(dd + j, softplus_grad(load<Val>(delta_t + j), load<Val>(ddt + j)));
            });
          }
        } else {
          std::copy(ddt, ddt + nc, dd);
        }
        T* db = part_dbias + k0;
#pragma omp simd
        for (int64_t j = 0; j < nc; ++j) db[j] += dd[j];
        if (R > 0) low_rank_input_grad(p, dd, k0, nc, sums.d_dt_low_row + t * R);
      }
      if (R > 0) low_rank_weight_grad(p, b, t0, t1 - t0, s_hist, k0, nc, sums.dWt, sums.dWt_stride);
    }
  }
}

template <typename T, typename Act>
void backward_impl(const SelectiveScanParams<T, Act>& p, const SelectiveScanGrads<T, Act>& g) {
  const int nt = std::max(1, p.num_threads);
  const int64_t L = p.seqlen, dim = p.dim, N = p.dstate, R = p.dt_low ? p.dt_rank : 0;
  const int64_t groups = channel_groups(p.batch, dim, nt);
  const int64_t items = p.batch * groups;
  const int64_t max_nc = widest_group<T>(groups, dim);
  const BackwardPlan plan = plan_backward(L, N, max_nc, sizeof(T));
  const std::vector<T> A = blocked_A(p, T(1)), A2 = blocked_A(p, kLog2e<T>);
  constexpr bool kStaged = !std::is_same_v<Act, T>;
  const int64_t sw = kStaged ? stage_width<T>(L, N, R, max_nc) : 0;

  // Per-thread partials of the reductions over batch and time: dA (lane-blocked), dD, d delta_bias, and with dt_low
  // d dt_proj_t (R, dim); summed in thread order at the end.
  const int64_t dA_size = blocked_size<T>(dim, N);
  const int64_t part_stride = dA_size + 2 * dim + R * dim;
  std::vector<T> partials(static_cast<std::size_t>(nt * part_stride), T(0));
  // With several channel groups per row, each group writes its own (batch, L, N) slices of dB / dC and (batch, L, R)
  // of d dt_low, summed in group order at the end.
  const int64_t n_bc = p.batch * L * N, n_low = p.batch * L * R;
  std::vector<T> group_rows;
  if (groups > 1) group_rows.assign(static_cast<std::size_t>(groups * (2 * n_bc + n_low)), T(0));

#pragma omp parallel num_threads(nt) if (nt > 1 && items > 1)
  {
    T* scratch = thread_scratch<T, ScanScratch>(static_cast<std::size_t>(plan.scratch));
    T* rows =
        kStaged ? thread_scratch<T, ScanStageScratch>(static_cast<std::size_t>(stage_elements(L, sw, N, R))) : nullptr;
    T* part = partials.data() + omp_get_thread_num() * part_stride;
#pragma omp for schedule(static)
    for (int64_t it = 0; it < items; ++it) {
      const int64_t b = it / groups, gi = it % groups;
      const int64_t c0 = scan_group_begin<T>(gi, groups, dim), c1 = scan_group_begin<T>(gi + 1, groups, dim);
      ItemSums<T> sums{};
      if (groups > 1) {
        T* mine = group_rows.data() + gi * (2 * n_bc + n_low);
        sums.dB_row = mine + b * L * N;
        sums.dC_row = mine + n_bc + b * L * N;
        sums.d_dt_low_row = mine + 2 * n_bc + b * L * R;
      } else {
        sums.dB_row = g.dB + b * L * N;
        sums.dC_row = g.dC + b * L * N;
        sums.d_dt_low_row = R > 0 ? g.d_dt_low + b * L * R : nullptr;
      }
      sums.dWt_stride = dim;
      if constexpr (kStaged) {
        for (int64_t k0 = c0; k0 < c1; k0 += sw) {
          const int64_t w = std::min(sw, c1 - k0), row0 = b * L * dim + k0;
          const SelectiveScanParams<T> q = stage_item(p, b, k0, w, rows);
          SelectiveScanGrads<T> gq;
          T* dout = staged_rows(rows, L, w, 0);
          stage_rows(g.dout + row0, dim, L, w, dout);
          gq.dout = dout;
          gq.du = staged_rows(rows, L, w, 1);
          gq.ddelta = g.ddelta ? staged_rows(rows, L, w, 2) : nullptr;
          gq.dz = p.z ? staged_rows(rows, L, w, 3) : nullptr;
          gq.dz_l_stride = w;
          // q's channels start at k0: the partials' pointers move there.
          sums.dA = part + k0 * N;
          sums.dD = part + dA_size + k0;
          sums.dbias = part + dA_size + dim + k0;
          sums.dWt = part + dA_size + 2 * dim + k0;
          sums.add_to_rows = k0 > c0;
          backward_item<T>(q, gq, A.data() + k0 * N, A2.data() + k0 * N, plan, 0, 0, w, scratch, sums);
          unstage_rows(gq.du, L, w, g.du + row0, dim);
          if (g.ddelta) unstage_rows(gq.ddelta, L, w, g.ddelta + row0, dim);
          if (p.z) unstage_rows(gq.dz, L, w, g.dz + b * g.dz_batch_stride + k0, g.dz_l_stride);
        }
      } else {
        sums.dA = part;
        sums.dD = part + dA_size;
        sums.dbias = part + dA_size + dim;
        sums.dWt = part + dA_size + 2 * dim;
        backward_item<T>(p, g, A.data(), A2.data(), plan, b, c0, c1, scratch, sums);
      }
    }
  }

  if (groups > 1) {
    const auto group_sum = [&](int64_t offset, int64_t n, T* out) {
      for (int64_t i = 0; i < n; ++i) {
        T acc = 0;
        for (int64_t gi = 0; gi < groups; ++gi) acc += group_rows[gi * (2 * n_bc + n_low) + offset + i];
        out[i] = acc;
      }
    };
    group_sum(0, n_bc, g.dB);
    group_sum(n_bc, n_bc, g.dC);
    if (R > 0) group_sum(2 * n_bc, n_low, g.d_dt_low);
  }
  for (int64_t i = 0; i < R * dim; ++i) {
    T acc = 0;
    for (int th = 0; th < nt; ++th) acc += partials[th * part_stride + dA_size + 2 * dim + i];
    g.d_dt_proj_t[i] = acc;
  }
  // Thread partials, always in thread order so a fixed thread count gives bit-identical results.
  for (int64_t d = 0; d < dim; ++d) {
    const int64_t base = lane_base<T>(d, N);
    for (int64_t n = 0; n < N; ++n) {
      T acc = 0;
      for (int th = 0; th < nt; ++th) acc += partials[th * part_stride + base + n * simd::kLanes<T>];
      g.dA[d * N + n] = acc;
    }
    T acc_d = 0, acc_b = 0;
    for (int th = 0; th < nt; ++th) {
      acc_d += partials[th * part_stride + dA_size + d];
      acc_b += partials[th * part_stride + dA_size + dim + d];
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
void selective_scan_fwd_cpu(const SelectiveScanParams<float, Bf16>& p) { forward_impl(p); }
void selective_scan_bwd_cpu(const SelectiveScanParams<float, Bf16>& p, const SelectiveScanGrads<float, Bf16>& g) {
  backward_impl(p, g);
}

}  // namespace ftmamba::kernels::FTMAMBA_KERNEL_ISA
