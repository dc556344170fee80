// defines: the fused CPU selective-scan kernels of selective_scan_cpu.h: OpenMP over (batch x channel group)
// work items, SIMD over the state dimension, plus the vectorisable float exp / log1p they rely on.
#include "ftmamba/kernels/selective_scan_cpu.h"

#include <omp.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <vector>

namespace ftmamba::kernels {
namespace {

// ---- math ------------------------------------------------------------------------------------------------
// glibc's expf is a scalar call, and the scan needs L*dim*N of them; this one inlines into SIMD loops.
// exp(x) = 2^k * exp(r), x = k*ln2 + r, |r| <= ln2/2; degree-7 Taylor for exp(r) (truncation 5e-9), so the
// relative error is rounding-limited (~1e-7). Below -87.6 it flushes to 0, above 88.37 it returns +inf
// (the true value there is within a factor 1.4 of FLT_MAX); NaN propagates.
inline float exp_f(float x) {
  constexpr float kLo = -87.6f, kHi = 88.37f;
  const float xc = std::min(std::max(x, kLo), kHi);
  // Adding 1.5*2^23 rounds x/ln2 to the nearest integer k and leaves k in the low mantissa bits.
  constexpr float kShift = 12582912.0f;
  const float shifted = xc * 1.44269504088896341f + kShift;
  const std::int32_t k = std::bit_cast<std::int32_t>(shifted) - 0x4B400000;
  const float kf = shifted - kShift;
  // ln2 split in a part exact in float times any |k| <= 128, and the remainder (Cody-Waite).
  float r = xc - kf * 0.693359375f;
  r = r + kf * 2.12194440e-4f;
  float poly = 1.0f / 5040.0f;
  poly = poly * r + 1.0f / 720.0f;
  poly = poly * r + 1.0f / 120.0f;
  poly = poly * r + 1.0f / 24.0f;
  poly = poly * r + 1.0f / 6.0f;
  poly = poly * r + 0.5f;
  poly = poly * r + 1.0f;
  poly = poly * r + 1.0f;
  const float scale = std::bit_cast<float>((k + 127) << 23);
  float e = poly * scale;
  e = x < kLo ? 0.0f : e;
  e = x > kHi ? HUGE_VALF : e;
  return e;
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

// ---- work split ------------------------------------------------------------------------------------------
// One work item is a batch row and a contiguous group of channels. Rows alone suffice once batch >= threads;
// otherwise each row is split into enough channel groups to give every thread work.
int64_t channel_groups(int64_t batch, int64_t dim, int nt) {
  if (batch >= nt) return 1;
  return std::max<int64_t>(1, std::min<int64_t>(dim, (nt + batch - 1) / batch));
}

inline int64_t group_begin(int64_t g, int64_t groups, int64_t dim) { return g * dim / groups; }

// A per-thread buffer that lives as long as the (pooled) OpenMP thread: no fresh pages on later calls.
template <typename T>
T* thread_scratch(std::size_t n) {
  thread_local std::vector<T> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

// Bytes of per-thread state history the backward keeps per channel block; sized to stay in L2.
constexpr std::size_t kHistoryBytes = 512 * 1024;

// dt for one token row of nc channels, vectorised across channels.
template <typename T>
inline void step_sizes(const T* delta, const T* bias, bool softplus, int64_t nc, T* dt) {
  if (softplus) {
#pragma omp simd
    for (int64_t j = 0; j < nc; ++j) dt[j] = softplus_t(delta[j] + (bias ? bias[j] : T(0)));
  } else {
#pragma omp simd
    for (int64_t j = 0; j < nc; ++j) dt[j] = delta[j] + (bias ? bias[j] : T(0));
  }
}

// The scan over time for batch row b and channels [c0, c0 + nc). kStore = false (forward): `state` is the
// running (nc, N) state, dt / s are (nc) rows reused per token, and y is written to p.out. kStore = true
// (backward recompute): state is (L + 1, nc, N) with row 0 = h_{-1} = 0, a is (L, nc, N) = exp(dt A),
// dt and s are (L, nc), s = <C_t, h_t> + D u_t before the gate. kN > 0 fixes the state size at compile time.
template <typename T, bool kStore, int kN>
void scan_rows(const SelectiveScanParams<T>& p, int64_t b, int64_t c0, int64_t nc, T* state, T* a_hist,
               T* dt_buf, T* s_buf) {
  const int64_t L = p.seqlen;
  const int64_t N = kN > 0 ? kN : p.dstate;
  const T* u_b = p.u + b * p.u_batch_stride + c0;
  const T* delta_b = p.delta + b * p.delta_batch_stride + c0;
  const T* B_b = p.B + b * p.B_batch_stride;
  const T* C_b = p.C + b * p.C_batch_stride;
  const T* bias = p.delta_bias ? p.delta_bias + c0 : nullptr;
  const T* Dv = p.D ? p.D + c0 : nullptr;
  std::fill(state, state + nc * N, T(0));
  for (int64_t t = 0; t < L; ++t) {
    const T* u_t = u_b + t * p.u_l_stride;
    const T* B_t = B_b + t * p.B_l_stride;
    const T* C_t = C_b + t * p.C_l_stride;
    T* dt = kStore ? dt_buf + t * nc : dt_buf;
    T* s = kStore ? s_buf + t * nc : s_buf;
    step_sizes(delta_b + t * p.delta_l_stride, bias, p.delta_softplus, nc, dt);
    const T* h_prev = kStore ? state + t * nc * N : state;
    T* h_cur = kStore ? state + (t + 1) * nc * N : state;
    for (int64_t j = 0; j < nc; ++j) {
      const T dt_j = dt[j];
      const T du_j = dt_j * u_t[j];
      const T* A_j = p.A + (c0 + j) * N;
      const T* hp = h_prev + j * N;
      T* hc = h_cur + j * N;
      T acc = 0;
      if constexpr (kStore) {
        T* a_j = a_hist + (t * nc + j) * N;
#pragma omp simd reduction(+ : acc)
        for (int64_t n = 0; n < N; ++n) {
          const T a = exp_t(dt_j * A_j[n]);
          const T h = a * hp[n] + du_j * B_t[n];
          a_j[n] = a;
          hc[n] = h;
          acc += C_t[n] * h;
        }
      } else {
#pragma omp simd reduction(+ : acc)
        for (int64_t n = 0; n < N; ++n) {
          const T h = exp_t(dt_j * A_j[n]) * hp[n] + du_j * B_t[n];
          hc[n] = h;
          acc += C_t[n] * h;
        }
      }
      s[j] = acc;
    }
    if (Dv) {
#pragma omp simd
      for (int64_t j = 0; j < nc; ++j) s[j] += Dv[j] * u_t[j];
    }
    if constexpr (!kStore) {
      // Gate, vectorised across channels.
      T* y = p.out + (b * L + t) * p.dim + c0;
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

template <typename T, int kN>
void forward_impl(const SelectiveScanParams<T>& p) {
  const int nt = std::max(1, p.num_threads);
  const int64_t groups = channel_groups(p.batch, p.dim, nt);
  const int64_t items = p.batch * groups;
  const int64_t max_nc = (p.dim + groups - 1) / groups;
#pragma omp parallel num_threads(nt) if (nt > 1 && items > 1)
  {
    T* scratch = thread_scratch<T>(static_cast<std::size_t>(max_nc * (p.dstate + 2)));
    T* state = scratch;
    T* dt = state + max_nc * p.dstate;
    T* s = dt + max_nc;
#pragma omp for schedule(static)
    for (int64_t it = 0; it < items; ++it) {
      const int64_t b = it / groups, g = it % groups;
      const int64_t c0 = group_begin(g, groups, p.dim), c1 = group_begin(g + 1, groups, p.dim);
      scan_rows<T, false, kN>(p, b, c0, c1 - c0, state, nullptr, dt, s);
    }
  }
}

// Backward for one work item (batch row b, channels [c0, c1)), in channel blocks of at most cb so the state
// history fits the scratch. dB_row / dC_row: this item's (L, N) target, accumulated over blocks in order.
// part_dA (dim, N), part_dD (dim), part_dbias (dim): this thread's partial sums.
template <typename T, int kN>
void backward_item(const SelectiveScanParams<T>& p, const SelectiveScanGrads<T>& g, int64_t b, int64_t c0,
                   int64_t c1, int64_t cb, T* scratch, T* dB_row, T* dC_row, T* part_dA, T* part_dD,
                   T* part_dbias) {
  const int64_t L = p.seqlen, dim = p.dim;
  const int64_t N = kN > 0 ? kN : p.dstate;
  // Scratch layout (sized for cb channels).
  T* h_hist = scratch;                    // (L + 1, cb, N)
  T* a_hist = h_hist + (L + 1) * cb * N;  // (L, cb, N)
  T* dt_hist = a_hist + L * cb * N;       // (L, cb)
  T* s_hist = dt_hist + L * cb;           // (L, cb)
  T* carry = s_hist + L * cb;             // (cb, N): a_{t+1} * dL/dh_{t+1}
  T* ds = carry + cb * N;                 // (cb)
  T* ddt = ds + cb;                       // (cb)
  T* dB_acc = ddt + cb;                   // (N)
  T* dC_acc = dB_acc + N;                 // (N)

  std::fill(dB_row, dB_row + L * N, T(0));
  std::fill(dC_row, dC_row + L * N, T(0));
  for (int64_t k0 = c0; k0 < c1; k0 += cb) {
    const int64_t nc = std::min(cb, c1 - k0);
    scan_rows<T, true, kN>(p, b, k0, nc, h_hist, a_hist, dt_hist, s_hist);
    std::fill(carry, carry + nc * N, T(0));
    const T* bias = p.delta_bias ? p.delta_bias + k0 : nullptr;
    const T* Dv = p.D ? p.D + k0 : nullptr;
    for (int64_t t = L - 1; t >= 0; --t) {
      const int64_t row = (b * L + t) * dim + k0;  // offset into the contiguous (batch, L, dim) tensors
      const T* u_t = p.u + b * p.u_batch_stride + t * p.u_l_stride + k0;
      const T* dy = g.dout + row;
      const T* s = s_hist + t * nc;
      // Through the gate, vectorised across channels: ds = dL/ds.
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
      if (Dv) {
        T* dD = part_dD + k0;
#pragma omp simd
        for (int64_t j = 0; j < nc; ++j) dD[j] += ds[j] * u_t[j];
      }
      const T* B_t = p.B + b * p.B_batch_stride + t * p.B_l_stride;
      const T* C_t = p.C + b * p.C_batch_stride + t * p.C_l_stride;
      std::fill(dB_acc, dB_acc + N, T(0));
      std::fill(dC_acc, dC_acc + N, T(0));
      T* du = g.du + row;
      for (int64_t j = 0; j < nc; ++j) {
        const T ds_j = ds[j], dt_j = dt_hist[t * nc + j], u_j = u_t[j];
        const T dtu = dt_j * u_j;
        const T* hp = h_hist + (t * nc + j) * N;         // h_{t-1}
        const T* hc = h_hist + ((t + 1) * nc + j) * N;   // h_t
        const T* a = a_hist + (t * nc + j) * N;          // exp(dt_t A)
        const T* A_j = p.A + (k0 + j) * N;
        T* cy = carry + j * N;
        T* dA_j = part_dA + (k0 + j) * N;
        T gB = 0, sA = 0;
#pragma omp simd reduction(+ : gB, sA)
        for (int64_t n = 0; n < N; ++n) {
          const T gh = ds_j * C_t[n] + cy[n];  // dL/dh_t
          dC_acc[n] += ds_j * hc[n];
          dB_acc[n] += gh * dtu;
          const T x = gh * hp[n] * a[n];  // dL/d(dt A)
          dA_j[n] += x * dt_j;
          sA += x * A_j[n];
          gB += gh * B_t[n];
          cy[n] = a[n] * gh;
        }
        du[j] = (Dv ? ds_j * Dv[j] : T(0)) + dt_j * gB;
        ddt[j] = u_j * gB + sA;
      }
      // Through softplus (PyTorch's threshold), vectorised across channels.
      const T* delta_t = p.delta + b * p.delta_batch_stride + t * p.delta_l_stride + k0;
      T* dd = g.ddelta + row;
      if (p.delta_softplus) {
#pragma omp simd
        for (int64_t j = 0; j < nc; ++j) {
          const T raw = delta_t[j] + (bias ? bias[j] : T(0));
          dd[j] = raw > T(20) ? ddt[j] : ddt[j] * sigmoid_t(raw);
        }
      } else {
        std::copy(ddt, ddt + nc, dd);
      }
      if (bias && part_dbias) {
        T* db = part_dbias + k0;
#pragma omp simd
        for (int64_t j = 0; j < nc; ++j) db[j] += dd[j];
      }
      T* dB_t = dB_row + t * N;
      T* dC_t = dC_row + t * N;
#pragma omp simd
      for (int64_t n = 0; n < N; ++n) {
        dB_t[n] += dB_acc[n];
        dC_t[n] += dC_acc[n];
      }
    }
  }
}

template <typename T, int kN>
void backward_impl(const SelectiveScanParams<T>& p, const SelectiveScanGrads<T>& g) {
  const int nt = std::max(1, p.num_threads);
  const int64_t L = p.seqlen, dim = p.dim, N = p.dstate;
  const int64_t groups = channel_groups(p.batch, dim, nt);
  const int64_t items = p.batch * groups;
  const int64_t max_nc = (dim + groups - 1) / groups;
  // Channels per block: as many as the history budget allows, at least one.
  const int64_t per_channel = (2 * L + 1) * N + 2 * L + N + 2;
  const int64_t cb = std::clamp<int64_t>(
      static_cast<int64_t>(kHistoryBytes / sizeof(T)) / per_channel, 1, std::max<int64_t>(max_nc, 1));
  const std::size_t scratch_elems = static_cast<std::size_t>(cb * per_channel + 2 * N);

  // Per-thread partials of the reductions over batch (and time), summed in thread order at the end.
  const int64_t part_stride = dim * N + 2 * dim;
  std::vector<T> partials(static_cast<std::size_t>(nt * part_stride), T(0));
  // With several channel groups per row, each group writes its own (batch, L, N) slice of dB / dC.
  std::vector<T> group_dBC;
  if (groups > 1) group_dBC.assign(static_cast<std::size_t>(2 * groups * p.batch * L * N), T(0));

#pragma omp parallel num_threads(nt) if (nt > 1 && items > 1)
  {
    T* scratch = thread_scratch<T>(scratch_elems);
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
      backward_item<T, kN>(p, g, b, c0, c1, cb, scratch, dB_row, dC_row, part, part + dim * N,
                           part + dim * N + dim);
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
  for (int64_t i = 0; i < dim * N; ++i) {
    T acc = 0;
    for (int th = 0; th < nt; ++th) acc += partials[th * part_stride + i];
    g.dA[i] = acc;
  }
  for (int64_t c = 0; c < dim; ++c) {
    T acc_d = 0, acc_b = 0;
    for (int th = 0; th < nt; ++th) {
      acc_d += partials[th * part_stride + dim * N + c];
      acc_b += partials[th * part_stride + dim * N + dim + c];
    }
    if (g.dD) g.dD[c] = acc_d;
    if (g.ddelta_bias) g.ddelta_bias[c] = acc_b;
  }
}

template <typename T>
void forward_dispatch(const SelectiveScanParams<T>& p) {
  if (p.dstate == 16) {
    forward_impl<T, 16>(p);
  } else {
    forward_impl<T, 0>(p);
  }
}

template <typename T>
void backward_dispatch(const SelectiveScanParams<T>& p, const SelectiveScanGrads<T>& g) {
  if (p.dstate == 16) {
    backward_impl<T, 16>(p, g);
  } else {
    backward_impl<T, 0>(p, g);
  }
}

}  // namespace

void selective_scan_fwd_cpu(const SelectiveScanParams<float>& p) { forward_dispatch(p); }
void selective_scan_fwd_cpu(const SelectiveScanParams<double>& p) { forward_dispatch(p); }
void selective_scan_bwd_cpu(const SelectiveScanParams<float>& p, const SelectiveScanGrads<float>& g) {
  backward_dispatch(p, g);
}
void selective_scan_bwd_cpu(const SelectiveScanParams<double>& p, const SelectiveScanGrads<double>& g) {
  backward_dispatch(p, g);
}

}  // namespace ftmamba::kernels
