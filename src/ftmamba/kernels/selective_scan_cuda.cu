// defines: the fused CUDA selective scan, forward and backward (see selective_scan_cuda.h).
//
// Forward: one thread owns one channel of one batch row and keeps all its d_state states in registers
// (up to 16; wider states take TPC = d_state / 16 neighbouring lanes, combined with shuffles). Each tile of
// steps, the block stages B_t and C_t of its batch row in shared memory, which the threads then read as
// broadcast vectors. Token-major inputs make neighbouring channels neighbouring addresses, so u, delta and z
// loads are coalesced. The state leaves registers only at chunk boundaries (every kScanChunk steps), where
// it is saved for the backward.
//
// Backward: a channel's states are split over TPC = d_state / 4 lanes (4 for N = 16): the chunk's
// recomputed states (kScanChunk x 4 floats) must fit in registers. Chunks are walked in reverse; each is
// recomputed from its saved start state, then walked backwards with the adjoint state dh. Each lane parks its
// dB / dC terms of the chunk in shared memory (two 16-byte stores per step) and the block sums them over its
// channels once per chunk; dA / dD / ddelta_bias stay in registers across
// the batch rows a block visits. All partial sums are written out and reduced by the caller: no atomics, so
// the result is deterministic.
#include <algorithm>

#include "ftmamba/kernels/cuda_common.cuh"
#include "ftmamba/kernels/selective_scan_cuda.h"

namespace ftmamba::kernels {
namespace {

constexpr int kThreads = 128;
constexpr int kStates = 4;      // states per lane in the backward
constexpr int kFwdStates = 16;  // states per lane in the forward
constexpr int kTile = 8;        // forward steps staged together (B, C in shared memory; u, delta, z in registers)
constexpr float kLog2e = 1.4426950408889634f;
// The backward's per-(step, channel) values in shared memory: u, dt = softplus(delta + bias), d dt / d delta,
// gy = d loss / d y_pre (the gate applied to dout), and the factor that turns y_pre into d loss / d z.
enum BackwardInput { kInU = 0, kInDt, kInDtDx, kInGy, kInDz, kBackwardInputs };
static_assert(kScanChunk % kTile == 0, "chunk boundaries must fall on tile boundaries");

// Sum of v over the TPC lanes of one channel (neighbouring lanes).
template <int TPC>
__device__ __forceinline__ float sum_over_channel_lanes(float v) {
#pragma unroll
  for (int off = 1; off < TPC; off *= 2) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}

// 2^x with the hardware approximation (ex2.approx.ftz: about 2 ulp, subnormal results flush to 0): one
// instruction, where exp2f's exact form adds range handling around it. The scan takes one per state and
// step in the forward and two in the backward, so this is most of their arithmetic.
__device__ __forceinline__ float fast_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// dt = softplus(x) (threshold 20, as torch / mamba_ssm) or x itself; d_dx = d dt / dx.
__device__ __forceinline__ float time_step(float x, bool softplus, float* d_dx = nullptr) {
  if (!softplus || x > 20.f) {
    if (d_dx) *d_dx = 1.f;
    return x;
  }
  if (d_dx) *d_dx = sigmoidf(x);
  return __logf(1.f + __expf(x));
}

// Thread coordinates shared by both kernels: TPC lanes per channel, S states per lane.
template <int TPC, int S>
struct Lane {
  int slice;     // which S-wide slice of the states this lane holds
  int64_t d;     // channel
  bool active;   // d < dim; inactive lanes still join every shuffle, with zero inputs
  int64_t dd;    // a channel safe to form addresses with
  int n0;        // first state of the slice
  __device__ Lane(int64_t dim) {
    slice = threadIdx.x % TPC;
    d = int64_t(blockIdx.x) * (kThreads / TPC) + threadIdx.x / TPC;
    active = d < dim;
    dd = active ? d : 0;
    n0 = slice * S;
  }
};

// One batch row's inputs as seen by one lane: u, delta, z at its channel (z null without a gate), B and C
// at state 0. Step t of u is u[t * p.u_l_stride], and so on.
template <typename T>
struct RowInputs {
  const T* __restrict__ u;
  const T* __restrict__ delta;
  const T* __restrict__ z;
  const T* __restrict__ B;
  const T* __restrict__ C;
  __device__ RowInputs(const SelectiveScanCudaParams& p, int64_t b, int64_t channel)
      : u(static_cast<const T*>(p.u) + b * p.u_batch_stride + channel),
        delta(static_cast<const T*>(p.delta) + b * p.delta_batch_stride + channel),
        z(p.z ? static_cast<const T*>(p.z) + b * p.z_batch_stride + channel : nullptr),
        B(static_cast<const T*>(p.B) + b * p.B_batch_stride),
        C(static_cast<const T*>(p.C) + b * p.C_batch_stride) {}
};

// Forward over the steps of segment blockIdx.z. kSummary: the first pass of a segmented forward (see
// ScanSegments): scan from a zero state and write the end state and the summed time steps to p.workspace,
// laid out as (batch, segments - 1, dim, dstate) states followed by (batch, segments - 1, dim) sums.
// Otherwise: start from the combined end states of the earlier segments and write outputs and saved states.
template <typename T, int TPC, bool kSummary>
__global__ void __launch_bounds__(kThreads) scan_fwd_kernel(const SelectiveScanCudaParams p, const ScanSegments seg) {
  constexpr int S = kFwdStates, kPad = TPC * S;
  __shared__ __align__(16) float staged[2][kTile][kPad];  // B (0) and C (1) of the tile's steps
  const Lane<TPC, S> ln(p.dim);
  const int N = static_cast<int>(p.dstate);
  const int64_t L = p.seqlen, n_saved = scan_saved_states(L);
  float A2[S];  // A * log2(e): exp(dt A) = exp2(dt A2); zero for padding states (they stay 0)
#pragma unroll
  for (int s = 0; s < S; ++s) A2[s] = (ln.active && ln.n0 + s < N) ? p.A[ln.dd * N + ln.n0 + s] * kLog2e : 0.f;
  const float Dd = (p.D && ln.active) ? p.D[ln.dd] : 0.f;
  const float bias = (p.delta_bias && ln.active) ? p.delta_bias[ln.dd] : 0.f;
  const bool has_z = p.z != nullptr;

  for (int64_t b = blockIdx.y; b < p.batch; b += gridDim.y) {
    const RowInputs<T> row_in(p, b, ln.dd);
    const T *u = row_in.u, *delta = row_in.delta, *z = row_in.z, *Bp = row_in.B, *Cp = row_in.C;
    T* __restrict__ out = static_cast<T*>(p.out) + b * L * p.dim + ln.dd;
    const int64_t segment = blockIdx.z, t_begin = segment * seg.len, t_end = min(L, t_begin + seg.len);
    const int64_t n_summaries = seg.count - 1;
    float* seg_state = p.workspace + b * n_summaries * p.dim * N;                           // (segments - 1, dim, N)
    float* seg_dtsum = p.workspace + p.batch * n_summaries * p.dim * N + b * n_summaries * p.dim;  // (segments - 1, dim)
    float h[S] = {}, dtsum = 0.f;
    if (!kSummary && ln.active) {
      for (int64_t j = 0; j < segment; ++j) {  // h = exp(A sum dt_j) h + h_end_j, segment by segment
        const float sj = seg_dtsum[j * p.dim + ln.d];
#pragma unroll
        for (int s = 0; s < S; ++s)
          if (ln.n0 + s < N) h[s] = fast_exp2(sj * A2[s]) * h[s] + seg_state[(j * p.dim + ln.d) * N + ln.n0 + s];
      }
    }
    for (int64_t t0 = t_begin; t0 < t_end; t0 += kTile) {
      __syncthreads();  // the previous tile's B / C are no longer read
      for (int i = threadIdx.x; i < 2 * kTile * kPad; i += kThreads) {
        const int n = i % kPad, k = (i / kPad) % kTile, which = i / (kPad * kTile);
        const int64_t t = t0 + k;
        const T* src = which == 0 ? Bp + t * p.B_l_stride : Cp + t * p.C_l_stride;
        staged[which][k][n] = (t < t_end && n < N) ? load_float(src + n) : 0.f;
      }
      if (!kSummary && t0 > 0 && t0 % kScanChunk == 0 && p.saved_states && ln.active) {
        float* dst = p.saved_states + ((b * n_saved + t0 / kScanChunk - 1) * p.dim + ln.d) * N + ln.n0;
#pragma unroll
        for (int s = 0; s < S; ++s)
          if (ln.n0 + s < N) dst[s] = h[s];
      }
      float uu[kTile], dl[kTile], zz[kTile];
#pragma unroll
      for (int k = 0; k < kTile; ++k) {
        const int64_t t = t0 + k;
        const bool ok = ln.active && t < t_end;
        uu[k] = ok ? load_float(u + t * p.u_l_stride) : 0.f;
        dl[k] = ok ? load_float(delta + t * p.delta_l_stride) : 0.f;
        zz[k] = (!kSummary && ok && has_z) ? load_float(z + t * p.z_l_stride) : 0.f;
      }
      __syncthreads();
#pragma unroll
      for (int k = 0; k < kTile; ++k) {
        if (t0 + k >= t_end) break;  // uniform over the block: every lane reaches the shuffles below
        const float dt = time_step(dl[k] + bias, p.delta_softplus);
        const float dtu = dt * uu[k];
        if (kSummary) {
          dtsum += dt;
          const float4* Bq = reinterpret_cast<const float4*>(&staged[0][k][ln.n0]);
#pragma unroll
          for (int q = 0; q < S / 4; ++q) {
            const float4 Bv = Bq[q];
            const float Bs[4] = {Bv.x, Bv.y, Bv.z, Bv.w};
#pragma unroll
            for (int j = 0; j < 4; ++j) h[4 * q + j] = fast_exp2(dt * A2[4 * q + j]) * h[4 * q + j] + dtu * Bs[j];
          }
          continue;
        }
        const float4* Bq = reinterpret_cast<const float4*>(&staged[0][k][ln.n0]);
        const float4* Cq = reinterpret_cast<const float4*>(&staged[1][k][ln.n0]);
        float y = 0.f;
#pragma unroll
        for (int q = 0; q < S / 4; ++q) {
          const float4 Bv = Bq[q], Cv = Cq[q];
          const float Bs[4] = {Bv.x, Bv.y, Bv.z, Bv.w}, Cs[4] = {Cv.x, Cv.y, Cv.z, Cv.w};
#pragma unroll
          for (int j = 0; j < 4; ++j) {
            const int s = 4 * q + j;
            h[s] = fast_exp2(dt * A2[s]) * h[s] + dtu * Bs[j];
            y += Cs[j] * h[s];
          }
        }
        y = sum_over_channel_lanes<TPC>(y) + Dd * uu[k];
        if (has_z) y *= zz[k] * sigmoidf(zz[k]);
        if (ln.active && ln.slice == 0) out[(t0 + k) * p.dim] = from_float<T>(y);
      }
    }
    if (kSummary && ln.active) {
#pragma unroll
      for (int s = 0; s < S; ++s)
        if (ln.n0 + s < N) seg_state[(segment * p.dim + ln.d) * N + ln.n0 + s] = h[s];
      if (ln.slice == 0) seg_dtsum[segment * p.dim + ln.d] = dtsum;
    }
  }
}

// At most 128 registers a thread, so that 4 blocks (16 warps) fit an SM: the kernel is latency-bound, and
// warps are what hides the latency.
template <typename T, int TPC>
__global__ void __launch_bounds__(kThreads, 4)
    scan_bwd_kernel(const SelectiveScanCudaParams p, const SelectiveScanCudaGrads g) {
  constexpr int K = kScanChunk;
  constexpr int kPad = TPC * kStates;            // states per channel, padded
  constexpr int kChannels = kThreads / TPC;      // channels per block
  // terms (kHalf, kChannels, 2, kPad): every lane's dB (0) and dC (1) terms per step, for half a chunk at a
  // time (the block sums them over its channels after each half: half the shared memory, one more block
  // per SM);
  // staged (2, K, kPad): B (0) and C (1) of the chunk's steps for the block's batch row;
  // inputs (5, K, kChannels): per step of the chunk and channel of the block, what every lane of the
  // channel needs (kIn* below). Loading u, delta, z and dout all at once, before the chunk's arithmetic,
  // keeps many loads in flight (loaded step by step inside the recurrence, each step waited a full memory
  // latency), and the softplus and the gate are computed once per channel instead of once per lane and pass.
  extern __shared__ __align__(16) float smem[];
  float* terms = smem;
  constexpr int kHalf = K / 2;
  float* staged = smem + kHalf * kChannels * 2 * kPad;
  float* inputs = staged + 2 * K * kPad;
  const int channel_in_block = threadIdx.x / TPC;
  const Lane<TPC, kStates> ln(p.dim);
  const int N = static_cast<int>(p.dstate);
  const int64_t L = p.seqlen, dim = p.dim, n_saved = scan_saved_states(L);
  const int64_t n_chunks = (L + K - 1) / K;
  float A[kStates], A2[kStates];
#pragma unroll
  for (int s = 0; s < kStates; ++s) {
    A[s] = (ln.active && ln.n0 + s < N) ? p.A[ln.dd * N + ln.n0 + s] : 0.f;
    A2[s] = A[s] * kLog2e;
  }
  const float Dd = (p.D && ln.active) ? p.D[ln.dd] : 0.f;
  const bool has_z = p.z != nullptr;
  float dA_acc[kStates] = {}, dD_acc = 0.f, dbias_acc = 0.f;

  for (int64_t b = blockIdx.y; b < p.batch; b += gridDim.y) {
    const T* Bp = static_cast<const T*>(p.B) + b * p.B_batch_stride;
    const T* Cp = static_cast<const T*>(p.C) + b * p.C_batch_stride;
    const int64_t row = b * L * dim + ln.dd;  // offset of (b, 0, d) in the contiguous tensors
    float dh[kStates] = {};  // adjoint of h_t, carried backwards across chunks
    for (int64_t c = n_chunks - 1; c >= 0; --c) {
      const int64_t t0 = c * K;
      const int len = static_cast<int>(min(static_cast<int64_t>(K), L - t0));
      for (int i = threadIdx.x; i < 2 * K * kPad; i += kThreads) {
        const int n = i % kPad, k = (i / kPad) % K, which = i / (kPad * K);
        const int64_t t = t0 + k;
        const T* src = which == 0 ? Bp + t * p.B_l_stride : Cp + t * p.C_l_stride;
        staged[i] = (k < len && n < N) ? load_float(src + n) : 0.f;
      }
      for (int i = threadIdx.x; i < K * kChannels; i += kThreads) {
        const int c_in = i % kChannels, k = i / kChannels;
        const int64_t d = int64_t(blockIdx.x) * kChannels + c_in, t = t0 + k;
        float u_t = 0.f, dt = 0.f, d_dt_dx = 0.f, gy = 0.f, dzc = 0.f;
        if (d < dim && k < len) {
          u_t = load_float(static_cast<const T*>(p.u) + b * p.u_batch_stride + t * p.u_l_stride + d);
          const float dl = load_float(static_cast<const T*>(p.delta) + b * p.delta_batch_stride + t * p.delta_l_stride + d);
          const float z_t = has_z ? load_float(static_cast<const T*>(p.z) + b * p.z_batch_stride + t * p.z_l_stride + d) : 0.f;
          const float dout_t = load_float(static_cast<const T*>(g.dout) + (b * L + t) * dim + d);
          dt = time_step(dl + (p.delta_bias ? p.delta_bias[d] : 0.f), p.delta_softplus, &d_dt_dx);
          gy = dout_t;
          if (has_z) {  // y = y_pre silu(z): d y / d y_pre = z sig(z), d y / d z = y_pre sig(z) (1 + z (1 - sig(z)))
            const float sig = sigmoidf(z_t);
            gy = dout_t * z_t * sig;
            dzc = dout_t * sig * (1.f + z_t * (1.f - sig));
          }
        }
        inputs[(kInU * K + k) * kChannels + c_in] = u_t;
        inputs[(kInDt * K + k) * kChannels + c_in] = dt;
        inputs[(kInDtDx * K + k) * kChannels + c_in] = d_dt_dx;
        inputs[(kInGy * K + k) * kChannels + c_in] = gy;
        inputs[(kInDz * K + k) * kChannels + c_in] = dzc;
      }
      __syncthreads();
      const auto input = [&](int which, int k) { return inputs[(which * K + k) * kChannels + channel_in_block]; };
      // This lane's B_t / C_t of step k of the chunk, as 4 floats.
      const auto staged_B = [&](int k) { return *reinterpret_cast<const float4*>(staged + k * kPad + ln.n0); };
      const auto staged_C = [&](int k) { return *reinterpret_cast<const float4*>(staged + (K + k) * kPad + ln.n0); };
      float h0[kStates];
#pragma unroll
      for (int s = 0; s < kStates; ++s)
        h0[s] = (c > 0 && ln.active && ln.n0 + s < N)
                    ? p.saved_states[((b * n_saved + c - 1) * dim + ln.d) * N + ln.n0 + s]
                    : 0.f;
      // Recompute the chunk's states h_{t0} .. h_{t0+len-1}.
      float hist[K][kStates];
      {
        float h[kStates];
#pragma unroll
        for (int s = 0; s < kStates; ++s) h[s] = h0[s];
#pragma unroll
        for (int k = 0; k < K; ++k) {
          if (k >= len) break;
          const float u_t = input(kInU, k), dt = input(kInDt, k);
          const float4 Bv = staged_B(k);
          const float Bs[kStates] = {Bv.x, Bv.y, Bv.z, Bv.w};
#pragma unroll
          for (int s = 0; s < kStates; ++s) {
            h[s] = fast_exp2(dt * A2[s]) * h[s] + dt * u_t * Bs[s];
            hist[k][s] = h[s];
          }
        }
      }
      // Sum the parked terms of steps [k_lo, k_hi) over the block's channels: this channel group's partial of
      // dB_t and dC_t. Every thread of the block calls it (len is uniform over the block).
      const auto flush_terms = [&](int k_lo, int k_hi) {
        __syncthreads();
        for (int i = threadIdx.x; i < (k_hi - k_lo) * 2 * N; i += kThreads) {
          const int n = i % N, which = (i / N) % 2, k = k_lo + i / (2 * N);
          const float* col = terms + ((k % kHalf) * kChannels * 2 + which) * kPad + n;
          float sum = 0.f;
#pragma unroll 8
          for (int c = 0; c < kChannels; ++c) sum += col[c * 2 * kPad];
          float* dst = which == 0 ? g.dB_part : g.dC_part;
          dst[((int64_t(blockIdx.x) * p.batch + b) * L + t0 + k) * N + n] = sum;
        }
        __syncthreads();
      };
      // Walk the chunk backwards.
#pragma unroll
      for (int k = K - 1; k >= 0; --k) {
        if (k == kHalf - 1 && len > kHalf) flush_terms(kHalf, len);  // steps kHalf .. len - 1 are done
        if (k >= len) continue;  // uniform over the block
        const int64_t t = t0 + k;
        const float u_t = input(kInU, k), dt = input(kInDt, k), d_dt_dx = input(kInDtDx, k);
        const float gy = input(kInGy, k);  // d loss / d y_pre
        const float4 Bv = staged_B(k), Cv = staged_C(k);
        const float Bs[kStates] = {Bv.x, Bv.y, Bv.z, Bv.w}, Cs[kStates] = {Cv.x, Cv.y, Cv.z, Cv.w};
        float yc = 0.f;
#pragma unroll
        for (int s = 0; s < kStates; ++s) yc += Cs[s] * hist[k][s];
        float dz_t = 0.f;
        if (has_z) dz_t = input(kInDz, k) * (sum_over_channel_lanes<TPC>(yc) + Dd * u_t);  // y_pre: before the gate
        float ddt = 0.f, dhB = 0.f, dB[kStates], dC[kStates];
#pragma unroll
        for (int s = 0; s < kStates; ++s) {
          const float a = fast_exp2(dt * A2[s]);
          const float h_prev = k > 0 ? hist[k - 1][s] : h0[s];
          dh[s] += Cs[s] * gy;
          dC[s] = gy * hist[k][s];
          dB[s] = dh[s] * dt * u_t;
          const float dh_a_hprev = dh[s] * a * h_prev;
          ddt += dh_a_hprev * A[s] + dh[s] * Bs[s] * u_t;
          dA_acc[s] += dh_a_hprev * dt;
          dhB += dh[s] * Bs[s];
          dh[s] *= a;  // now the adjoint of h_{t-1} through the recurrence
        }
        ddt = sum_over_channel_lanes<TPC>(ddt);
        dhB = sum_over_channel_lanes<TPC>(dhB);
        const float du_t = Dd * gy + dt * dhB;
        const float ddelta_t = ddt * d_dt_dx;
        if (ln.slice == 0) {
          dD_acc += gy * u_t;
          dbias_acc += ddelta_t;
          if (ln.active) {
            const int64_t o = row + t * dim;
            static_cast<T*>(g.du)[o] = from_float<T>(du_t);
            static_cast<T*>(g.ddelta)[o] = from_float<T>(ddelta_t);
            if (has_z) static_cast<T*>(g.dz)[o] = from_float<T>(dz_t);
          }
        }
        float* slot = terms + (((k % kHalf) * kChannels + channel_in_block) * 2) * kPad + ln.n0;
        *reinterpret_cast<float4*>(slot) = make_float4(dB[0], dB[1], dB[2], dB[3]);
        *reinterpret_cast<float4*>(slot + kPad) = make_float4(dC[0], dC[1], dC[2], dC[3]);
      }
      flush_terms(0, min(len, kHalf));
    }
  }
  if (ln.active) {
#pragma unroll
    for (int s = 0; s < kStates; ++s)
      if (ln.n0 + s < N) g.dA_part[(int64_t(blockIdx.y) * dim + ln.d) * N + ln.n0 + s] = dA_acc[s];
    if (ln.slice == 0) {
      if (g.dD_part) g.dD_part[int64_t(blockIdx.y) * dim + ln.d] = dD_acc;
      if (g.ddelta_bias_part) g.ddelta_bias_part[int64_t(blockIdx.y) * dim + ln.d] = dbias_acc;
    }
  }
}

// Lanes per channel: enough for d_state states at `per_lane` each, a power of two.
int lanes_per_channel(int64_t dstate, int per_lane) {
  int tpc = 1;
  while (tpc * per_lane < dstate) tpc *= 2;
  return tpc;
}

template <typename F>
void dispatch_lanes(int tpc, F&& f) {
  switch (tpc) {
    case 1: f(IntConstant<1>{}); break;
    case 2: f(IntConstant<2>{}); break;
    case 4: f(IntConstant<4>{}); break;
    case 8: f(IntConstant<8>{}); break;
    default: f(IntConstant<16>{}); break;
  }
}

void check_params(const SelectiveScanCudaParams& p) {
  if (p.dstate < 1 || p.dstate > kScanMaxDstate)
    throw std::runtime_error("selective_scan (CUDA): d_state must be in 1.." + std::to_string(kScanMaxDstate) +
                             ", got " + std::to_string(p.dstate));
}

int64_t channel_blocks(const SelectiveScanCudaParams& p, int tpc) {
  const int64_t per_block = kThreads / tpc;
  return (p.dim + per_block - 1) / per_block;
}

constexpr int64_t kMaxGridY = 65535;

}  // namespace

ScanBackwardSplit selective_scan_bwd_split(const SelectiveScanCudaParams& p) {
  ScanBackwardSplit s;
  s.channel_groups = std::max<int64_t>(1, channel_blocks(p, lanes_per_channel(p.dstate, kStates)));
  // Enough blocks for about 8 per SM; each extra batch group costs one more (dim, dstate) partial.
  const int64_t want = (int64_t(cuda_sm_count()) * 8 + s.channel_groups - 1) / s.channel_groups;
  s.batch_groups = std::max<int64_t>(1, std::min({p.batch, want, kMaxGridY}));
  return s;
}

ScanSegments selective_scan_fwd_segments(const SelectiveScanCudaParams& p) {
  ScanSegments seg;
  seg.len = std::max<int64_t>(p.seqlen, 1);
  const int64_t blocks = channel_blocks(p, lanes_per_channel(p.dstate, kFwdStates)) * std::min(p.batch, kMaxGridY);
  // Aim at about 8 blocks per SM; a segment keeps at least kMinSegment steps, so that the first pass and the
  // combination stay small beside the main pass.
  constexpr int64_t kMinSegment = 128;
  const int64_t want = (int64_t(cuda_sm_count()) * 8 + blocks - 1) / std::max<int64_t>(blocks, 1);
  const int64_t count = std::min(want, p.seqlen / kMinSegment);
  if (count < 2) return seg;
  seg.len = ((p.seqlen + count - 1) / count + kScanChunk - 1) / kScanChunk * kScanChunk;
  seg.count = (p.seqlen + seg.len - 1) / seg.len;
  return seg;
}

int64_t selective_scan_fwd_workspace_floats(const SelectiveScanCudaParams& p) {
  const ScanSegments seg = selective_scan_fwd_segments(p);
  return seg.count > 1 ? p.batch * (seg.count - 1) * p.dim * (p.dstate + 1) : 0;
}

void selective_scan_fwd_cuda(const SelectiveScanCudaParams& p) {
  check_params(p);
  if (p.batch == 0 || p.dim == 0 || p.seqlen == 0) return;
  const ScanSegments seg = selective_scan_fwd_segments(p);
  if (seg.count > 1 && p.workspace == nullptr)
    throw std::runtime_error("selective_scan (CUDA): this shape needs a forward workspace");
  const int tpc = lanes_per_channel(p.dstate, kFwdStates);
  const unsigned gx = static_cast<unsigned>(channel_blocks(p, tpc)), gy = static_cast<unsigned>(std::min(p.batch, kMaxGridY));
  const auto stream = static_cast<cudaStream_t>(p.stream);
  dispatch_dtype(p.dtype, [&](auto dtype_tag) {
    dispatch_lanes(tpc, [&](auto lanes) {
      using T = decltype(dtype_tag);
      constexpr int kLanes = decltype(lanes)::value;
      if (seg.count > 1)
        scan_fwd_kernel<T, kLanes, true><<<dim3(gx, gy, unsigned(seg.count - 1)), kThreads, 0, stream>>>(p, seg);
      scan_fwd_kernel<T, kLanes, false><<<dim3(gx, gy, unsigned(seg.count)), kThreads, 0, stream>>>(p, seg);
    });
  });
  check_launch("selective_scan forward");
}

void selective_scan_bwd_cuda(const SelectiveScanCudaParams& p, const SelectiveScanCudaGrads& g) {
  check_params(p);
  if (p.dim == 0) return;
  const ScanBackwardSplit split = selective_scan_bwd_split(p);
  const auto stream = static_cast<cudaStream_t>(p.stream);
  if (p.batch == 0) {  // nothing to scan, but the parameter partials must still be written
    cudaMemsetAsync(g.dA_part, 0, sizeof(float) * split.batch_groups * p.dim * p.dstate, stream);
    if (g.dD_part) cudaMemsetAsync(g.dD_part, 0, sizeof(float) * split.batch_groups * p.dim, stream);
    if (g.ddelta_bias_part) cudaMemsetAsync(g.ddelta_bias_part, 0, sizeof(float) * split.batch_groups * p.dim, stream);
    check_launch("selective_scan backward");
    return;
  }
  const dim3 grid(static_cast<unsigned>(split.channel_groups), static_cast<unsigned>(split.batch_groups));
  const int tpc = lanes_per_channel(p.dstate, kStates);
  // terms (K / 2 x threads x 2 x 4 floats, 32 KiB) + staged B / C (2 x K x padded d_state floats) + staged
  // backward inputs (kBackwardInputs x K x channels per block).
  const size_t smem = sizeof(float) * (kScanChunk / 2 * kThreads * 2 * kStates + 2 * kScanChunk * tpc * kStates +
                                       kBackwardInputs * kScanChunk * (kThreads / tpc));
  dispatch_dtype(p.dtype, [&](auto dtype_tag) {
    dispatch_lanes(tpc, [&](auto lanes) {
      auto* kernel = scan_bwd_kernel<decltype(dtype_tag), decltype(lanes)::value>;
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
      kernel<<<grid, kThreads, smem, stream>>>(p, g);
    });
  });
  check_launch("selective_scan backward");
}

}  // namespace ftmamba::kernels
