// defines: the fused CUDA selective scan, forward and backward (see selective_scan_cuda.h).
//
// Forward: a channel's d_state states are spread over TPC neighbouring lanes of S states each
// (ScanForwardPlan: S = 16, one lane a channel at N <= 16, when batch x channels fill the GPU; S = 4 when
// they do not, as at the LM shape; S = 2 when even that leaves SMs short). Each tile of steps, the block
// loads u, delta, z (coalesced: neighbouring channels are neighbouring addresses in the token-major layout;
// at four lanes a channel and rows aligned to four elements, as one 8- or 16-byte vector of four channels a
// thread) and B_t, C_t of its batch row, through cursors that move a tile at a time (32-bit offsets), and
// computes the softplus and the gate once per (step, channel): at one lane a channel into the lane's registers; at
// several, (dt, dt u) into shared memory for the channel's lanes, while the loading thread keeps skip and
// gate. At several lanes a channel each lane parks its share of <C_t, h_t> in shared memory every step, and
// after the tile the loading threads sum the shares and write whole rows of outputs. The state leaves
// registers only at chunk boundaries (every kScanChunk steps), where it is saved for the backward. The
// step loops have no branches: steps past the end get dt = 0, so the compiler can overlap neighbouring steps.
//
// Backward: the next chunk's u, delta, z and dout are copied into shared memory asynchronously (cp.async)
// while the block walks the current chunk, when their rows start 16-byte aligned (else each chunk loads its
// own). A channel's states are split over TPC = d_state / 4 lanes (4 for N = 16): the chunk's
// recomputed states (kScanChunk x 4 floats) must fit in registers. Chunks are walked in reverse; each is
// recomputed from its saved start state, then walked backwards with the adjoint state dh. Each step a lane
// parks, in shared memory, its dB / dC terms and its shares of <C, h>, d dt and <dh, B> (three 16-byte
// stores, no shuffles); every 2 steps (4, with the sums spread over the block, for grids of at most 3
// blocks an SM, as at the LM shape) the block sums the terms over its channels and each channel's shares
// into its du / ddelta / dz, written as whole rows. dA stays in the lanes' registers and dD /
// ddelta_bias in the channel's summing thread across the batch rows a block visits. All partial sums are
// written out and summed by one more kernel (sum_partials_kernel): no atomics, so the result is
// deterministic. Like the forward's, the step loops have no branches (steps past the end have zero inputs).
#include <algorithm>

#include "ftmamba/kernels/cuda_common.cuh"
#include "ftmamba/kernels/selective_scan_cuda.h"

namespace ftmamba::kernels {
namespace {

constexpr int kThreads = 128;
constexpr int kStates = 4;      // states per lane in the backward
constexpr float kLog2e = 1.4426950408889634f;
// The backward's per-(step, channel) values in shared memory: u, dt = softplus(delta + bias),
// gy = d loss / d y_pre (the gate applied to dout) and d dt / d delta as one float4 (one read a step for the
// lanes, who take the first three), then the factor that turns y_pre into d loss / d z.
constexpr int kBackwardInputs = 5;

// 2^x with the hardware approximation (ex2.approx.ftz: about 2 ulp, subnormal results flush to 0): one
// instruction, where exp2f's exact form adds range handling around it. The scan takes one per state and
// step in the forward and two in the backward, so this is most of their arithmetic.
__device__ __forceinline__ float fast_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// log2(x) with the hardware approximation (lg2.approx.ftz), as __logf uses, without its handling of
// subnormal inputs (1 + e^x never is one).
__device__ __forceinline__ float fast_log2(float x) {
  float y;
  asm("lg2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// 1 / (1 + e^-x) on the flush-to-zero exp2: two instructions besides the scaling, none for range handling.
__device__ __forceinline__ float fast_sigmoid(float x) { return __fdividef(1.f, 1.f + fast_exp2(-kLog2e * x)); }

// The pointer itself, hidden from the optimizer: kept in a register as computed, instead of being
// re-derived from the kernel parameters at every use (a 64-bit index sum and scaling a load).
template <typename P>
__device__ __forceinline__ P* materialized(P* ptr) {
  asm("" : "+l"(ptr));
  return ptr;
}

// Asynchronous 16-byte copy from global to shared memory (cp.async, bypassing L1); src_bytes 0 fills the
// 16 bytes with zeros without reading src. Completion: cp_async_wait_all, then a barrier for other threads.
__device__ __forceinline__ void cp_async16(void* smem_dst, const void* src, int src_bytes) {
  const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem_dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(src_bytes) : "memory");
}
__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_all;\n" ::: "memory"); }
__device__ __forceinline__ bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

// dt = softplus(x) (threshold 20, as torch / mamba_ssm) or x itself; d_dx = d dt / dx. The same
// approximations as __logf(1 + __expf(x)), on their flush-to-zero forms: the per-(step, channel) work of the
// scans' loaders is mostly these.
__device__ __forceinline__ float time_step(float x, bool softplus, float* d_dx = nullptr) {
  constexpr float kLn2 = 0.6931471805599453f;
  const bool soft = softplus && x <= 20.f;
  if (d_dx) *d_dx = soft ? fast_sigmoid(x) : 1.f;
  return soft ? fast_log2(1.f + fast_exp2(kLog2e * x)) * kLn2 : x;
}

// Four consecutive elements as one 8- or 16-byte access (p aligned to its size); zeros when !ok.
template <typename T>
__device__ __forceinline__ void load_vec4(T (&dst)[4], const T* p, bool ok) {
  static_assert(sizeof(T) == 4 || sizeof(T) == 2, "float, bf16 or fp16");
  if constexpr (sizeof(T) == 4) {
    const float4 v = ok ? __ldg(reinterpret_cast<const float4*>(p)) : make_float4(0.f, 0.f, 0.f, 0.f);
    memcpy(dst, &v, sizeof(v));
  } else {
    const uint2 v = ok ? __ldg(reinterpret_cast<const uint2*>(p)) : make_uint2(0u, 0u);
    memcpy(dst, &v, sizeof(v));
  }
}
template <typename T>
__device__ __forceinline__ void store_vec4(T* p, const float (&y)[4]) {
  T v[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) v[i] = from_float<T>(y[i]);
  if constexpr (sizeof(T) == 4) {
    float4 w;
    memcpy(&w, v, sizeof(w));
    *reinterpret_cast<float4*>(p) = w;
  } else {
    uint2 w;
    memcpy(&w, v, sizeof(w));
    *reinterpret_cast<uint2*>(p) = w;
  }
}

// Whether element threadIdx.x + j kThreads of a block-wide staging loop lies at or past element kAt (in C's
// half of a B-then-C buffer, or past its end). Known at compile time when the block covers the elements
// before kAt in whole rounds, as at the LM and tabular shapes.
template <int kAt>
__device__ __forceinline__ bool staging_at_or_past(int j) {
  if constexpr (kAt % kThreads == 0) return j * kThreads >= kAt;
  else return threadIdx.x + j * kThreads >= static_cast<unsigned>(kAt);
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

// Per (step, channel) values of the forward at one lane a channel, which the lane computes for itself into
// its registers: dt = softplus(delta + bias), dt u, the skip D u and the gate silu(z) (1 without z).
enum ForwardInput { kFwdDt = 0, kFwdDtU, kFwdSkip, kFwdGate, kForwardInputs };

// Sum of the TPC lanes' shares of one (step, channel) output, parked side by side at p (TPC floats, aligned
// to their size). At TPC 8 (two 16-byte halves) `rot` picks which half is read first, so that the 8
// threads of a quarter warp, 32 bytes apart, read 8 different 16-byte bank groups.
template <int TPC>
__device__ __forceinline__ float sum_lane_shares(const float* p, int rot) {
  if constexpr (TPC == 1) {
    return *p;
  } else if constexpr (TPC == 2) {
    const float2 v = *reinterpret_cast<const float2*>(p);
    return v.x + v.y;
  } else if constexpr (TPC == 4) {
    const float4 v = *reinterpret_cast<const float4*>(p);
    return (v.x + v.y) + (v.z + v.w);
  } else {
    static_assert(TPC == 8, "lanes a channel: 2, 4 or 8");
    const float4* q = reinterpret_cast<const float4*>(p);
    const float4 a = q[rot], c = q[rot ^ 1];
    return ((a.x + a.y) + (a.z + a.w)) + ((c.x + c.y) + (c.z + c.w));
  }
}

// Forward over the steps of segment blockIdx.z, S states a lane, TPC lanes a channel, TILE steps staged at a
// time. kSummary: the first pass of a segmented forward (see ScanSegments): scan from a zero state and write
// the end state and the summed time steps to p.workspace, laid out as (batch, segments - 1, dim, dstate)
// states followed by (batch, segments - 1, dim) sums. Otherwise: start from the combined end states of the
// earlier segments and write outputs and saved states.
//
// Each tile, the block's threads load u, delta, z (coalesced: a thread per (step, channel)) and B, C of the
// tile's steps. At one lane a channel, the lane's own loads are its channel's steps, and it keeps the
// ForwardInput values in registers and stores each step's output itself. At several lanes a channel
// (few lanes in all: the LM shape), the loader puts (dt, dt u) of each (step, channel) in shared memory for
// the channel's lanes and keeps the skip and gate of its own (step, channel) items in registers; each step
// a lane parks its share of <C_t, h_t> in shared memory (one store: no shuffles, no dependent chain through
// the step), and after the tile the loader sums each item's shares, applies skip and gate and writes whole
// rows of channels. At 4 states a lane the next tile's loads are issued into registers before the
// tile's arithmetic, so that their latency hides behind it; at 16 the registers are wanted for the states,
// and the many warps hide the latency. At most 128 registers, so that 4 blocks fit an SM.
//
// kVec (main pass at four lanes a channel, d_inner and the rows' starts multiples of 4 elements:
// fwd_rows_vectorizable): the loader takes four channels of one step instead of one channel at four steps,
// so that each tile it loads u, delta and z as one 8- or 16-byte vector each and writes its four outputs as
// one, where the scalar view needs a load and its address per (step, channel) and stream.
template <typename T, int TPC, int S, int TILE, bool kSummary, bool kVec = false>
__global__ void __launch_bounds__(kThreads, S == 2 ? 6 : 4)
    scan_fwd_kernel(const SelectiveScanCudaParams p, const ScanSegments seg) {
  constexpr bool kPrefetch = S < 16;
  constexpr int kStopEvery = S == 16 ? 2 : TILE;
  static_assert(kScanChunk % TILE == 0, "chunk boundaries must fall on tile boundaries");
  static_assert(S % 4 == 0 || S == 2, "states a lane: whole float4s of B_t / C_t, or one float2");
  static_assert(TILE % TPC == 0, "a loader's steps ld_k + j TPC must stay inside the tile");
  constexpr int kPad = TPC * S;                                       // states per channel, padded
  constexpr int kChannels = kThreads / TPC;                           // channels per block
  constexpr int kItems = TILE / TPC;                                  // (step, channel) loads a thread, a tile
  constexpr int kBC = (2 * TILE * kPad + kThreads - 1) / kThreads;      // B / C loads a thread, a tile
  constexpr bool kOwnLane = TPC == 1;
  constexpr bool kShares = !kOwnLane && !kSummary;  // lanes park output shares for the loader to sum
  static_assert(!kVec || (kShares && TPC == 4 && TILE == 16 && kItems == 4), "kVec: the LM layout's main pass");
  __shared__ __align__(16) float staged[2][TILE][kPad];  // B (0) and C (1) of the tile's steps
  // Several lanes a channel: (dt, dt u) per (step, channel), and each lane's share of the output: TPC floats
  // a channel, in slot share_slot(channel) of the step's row.
  __shared__ __align__(16) float2 step_dt[kOwnLane ? 1 : TILE][kOwnLane ? 1 : kChannels];
  __shared__ __align__(16) float y_share[kShares ? TILE : 1][kShares ? kChannels * TPC : 1];
  // kVec: the loader reading its four channels' slots, the 8 threads of a quarter warp (8 groups of four
  // channels, 64 bytes apart) would meet in 2 of the 8 16-byte bank groups, 4 to a group. So channel 4 g + j
  // takes slot 4 g + (j ^ ((g / 2) % 4)): channel j of each group lands in a different bank group, and the
  // slots of a warp's 8 channels still fill its 128 bytes.
  const auto share_slot = [](int c) { return kVec ? (c & ~3) | ((c & 3) ^ ((c >> 3) & 3)) : c; };
  float own_in[kForwardInputs][kOwnLane ? TILE : 1];  // one lane a channel: its steps' ForwardInput values
  float own_out[2][kOwnLane ? 1 : kItems];            // several: skip (0) and gate (1) of the loader's items
  const Lane<TPC, S> ln(p.dim);
  const int channel_in_block = threadIdx.x / TPC;
  const int N = static_cast<int>(p.dstate);
  const int L = static_cast<int>(p.seqlen), n_saved = static_cast<int>(scan_saved_states(L));
  float A2[S];  // A * log2(e): exp(dt A) = exp2(dt A2); zero for padding states (they stay 0)
#pragma unroll
  for (int s = 0; s < S; ++s) A2[s] = (ln.active && ln.n0 + s < N) ? p.A[ln.dd * N + ln.n0 + s] * kLog2e : 0.f;
  const bool has_z = p.z != nullptr;

  // The loader's view: thread i loads channel i % kChannels at steps i / kChannels + j TPC of each tile (at
  // one lane a channel, its own channel at every step): item j is (ld_k + item_step(j), ld_c + item_channel(j)).
  // kVec: channels ld_c .. ld_c + 3 of step ld_k, 4 (i % 8) and i / 8: a warp covers 4 steps of all 32
  // channels, whole rows of the loads and stores.
  const int ld_c = kVec ? 4 * (threadIdx.x % 8) : threadIdx.x % kChannels;
  const int ld_k = kVec ? threadIdx.x / 8 : threadIdx.x / kChannels;
  const auto item_step = [](int j) { return kVec ? 0 : j * TPC; };
  const auto item_channel = [](int j) { return kVec ? j : 0; };
  const int64_t ld_d = int64_t(blockIdx.x) * kChannels + ld_c;
  const bool ld_ok = ld_d < p.dim;  // kVec: d_inner is whole vectors
  float ld_bias[kVec ? 4 : 1], ld_D[kVec ? 4 : 1];
#pragma unroll
  for (int j = 0; j < (kVec ? 4 : 1); ++j) {
    ld_bias[j] = (p.delta_bias && ld_ok) ? p.delta_bias[ld_d + j] : 0.f;
    ld_D[j] = (p.D && ld_ok) ? p.D[ld_d + j] : 0.f;
  }
  const T zero = from_float<T>(0.f);
  T raw_u[kItems], raw_dl[kItems], raw_z[kItems], raw_bc[kBC];  // the next tile, as loaded
  // Offsets inside one batch row fit 32 bits (check_params), so each load's address is a 32-bit multiply-add
  // on the row's base pointer, not 64-bit index arithmetic.
  const int u_ls = static_cast<int>(p.u_l_stride), dl_ls = static_cast<int>(p.delta_l_stride);
  const int z_ls = static_cast<int>(p.z_l_stride), out_ls = static_cast<int>(p.dim);
  const int B_ls = static_cast<int>(p.B_l_stride), C_ls = static_cast<int>(p.C_l_stride);
  // This thread's share of the tile's B / C staging, fixed for the whole kernel: element threadIdx.x + j kThreads
  // of `staged`, at bc_off[j] from the tile's first step of B or C, and at step bc_step[j] of the
  // tile (kNoStep for padding elements, which stay 0).
  constexpr int kNoStep = 1 << 30;
  int bc_off[kBC], bc_step[kBC];
#pragma unroll
  for (int j = 0; j < kBC; ++j) {
    const int i = threadIdx.x + j * kThreads;
    const int n = i % kPad, k = (i / kPad) % TILE;
    bc_off[j] = k * (i >= TILE * kPad ? C_ls : B_ls) + n;
    bc_step[j] = (i < 2 * TILE * kPad && n < N) ? k : kNoStep;
  }

  for (int64_t b = blockIdx.y; b < p.batch; b += gridDim.y) {
    const RowInputs<T> ld_in(p, b, ld_ok ? ld_d : 0);
    const int segment = blockIdx.z, t_begin = segment * static_cast<int>(seg.len);
    const int t_end = min(L, t_begin + static_cast<int>(seg.len));
    // Tiles are loaded, and their outputs written, in order, so each stream has a cursor that moves a tile
    // at a time: an item's address is then one multiply-add on it.
    //   load cursors: u, delta, z at the loader's first step of the next tile to load; B, C at its first step
    //   out_next: the outputs of (b, first step of the next tile to write, channel): the lane's channel at one
    //   lane a channel, else the loader's (its first step at several lanes)
    const T* __restrict__ u_next = ld_in.u + (t_begin + ld_k) * u_ls;
    const T* __restrict__ dl_next = ld_in.delta + (t_begin + ld_k) * dl_ls;
    const T* __restrict__ z_next = has_z ? ld_in.z + (t_begin + ld_k) * z_ls : nullptr;
    const T* __restrict__ B_next = ld_in.B + t_begin * B_ls;
    const T* __restrict__ C_next = ld_in.C + t_begin * C_ls;
    T* __restrict__ out_next = static_cast<T*>(p.out) + b * L * p.dim + (kOwnLane ? ln.dd : (ld_ok ? ld_d : 0)) +
                               (t_begin + (kOwnLane ? 0 : ld_k)) * out_ls;
    const auto load_tile = [&](int t0) {
      const int rem = t_end - t0 - ld_k;  // the loader's steps left from its first one in the tile
      if constexpr (kVec) {
        const bool ok = ld_ok && rem > 0;
        load_vec4(raw_u, u_next, ok);
        load_vec4(raw_dl, dl_next, ok);
        load_vec4(raw_z, z_next, ok && has_z);
      } else {
#pragma unroll
        for (int j = 0; j < kItems; ++j) {
          const bool ok = ld_ok && j * TPC < rem;
          raw_u[j] = ok ? __ldg(u_next + j * TPC * u_ls) : zero;
          raw_dl[j] = ok ? __ldg(dl_next + j * TPC * dl_ls) : zero;
          raw_z[j] = (!kSummary && ok && has_z) ? __ldg(z_next + j * TPC * z_ls) : zero;
        }
      }
#pragma unroll
      for (int j = 0; j < kBC; ++j)
        raw_bc[j] = bc_step[j] < t_end - t0 ? __ldg((staging_at_or_past<TILE * kPad>(j) ? C_next : B_next) + bc_off[j]) : zero;
      u_next += TILE * u_ls;
      dl_next += TILE * dl_ls;
      if (has_z) z_next += TILE * z_ls;
      B_next += TILE * B_ls;
      C_next += TILE * C_ls;
    };
    const auto store_tile = [&](int t_tile) {
      const int rem = t_end - t_tile - ld_k;  // ld_k is 0 at one lane a channel
      float2 dt_pair[kVec ? 4 : 1];           // kVec: (dt, dt u) of the four channels
#pragma unroll
      for (int j = 0; j < kItems; ++j) {
        const int k = ld_k + item_step(j);
        // Steps past the end get dt = 0 (the state passes unchanged), so the arithmetic below needs no
        // branch per step and the compiler can overlap neighbouring steps.
        const float u = to_float(raw_u[j]);
        // At several lanes a channel, the softplus is formed for every item and then selected: a branch per
        // item cost more (LM forward, fp32: 235.0 -> 220.9 us). At one lane a channel the branch stays: without
        // it the compiler put each item's softplus right behind its load, before the next item's load (the
        // tiles there are loaded, not prefetched), and the loads' latencies added up (tabular: 73 -> 102 us).
        float dt;
        if constexpr (kOwnLane) {
          dt = j * TPC < rem ? time_step(to_float(raw_dl[j]) + ld_bias[0], p.delta_softplus) : 0.f;
        } else {
          dt = time_step(to_float(raw_dl[j]) + ld_bias[item_channel(j)], p.delta_softplus);
          dt = item_step(j) < rem ? dt : 0.f;
        }
        float skip = 0.f, gate = 1.f;
        if (!kSummary) {
          const float z = to_float(raw_z[j]);
          skip = ld_D[item_channel(j)] * u;
          gate = has_z ? z * fast_sigmoid(z) : 1.f;
        }
        if constexpr (kOwnLane) {
          own_in[kFwdDt][j] = dt;
          own_in[kFwdDtU][j] = dt * u;
          own_in[kFwdSkip][j] = skip;
          own_in[kFwdGate][j] = gate;
        } else {
          const float2 d = make_float2(dt, dt * u);
          if constexpr (kVec) dt_pair[j] = d;  // stored below, two channels a 16-byte store
          else step_dt[k][ld_c] = d;
          own_out[0][j] = skip;
          own_out[1][j] = gate;
        }
      }
      if constexpr (kVec) {  // two 16-byte stores
        float4* dst = reinterpret_cast<float4*>(&step_dt[ld_k][ld_c]);
        dst[0] = make_float4(dt_pair[0].x, dt_pair[0].y, dt_pair[1].x, dt_pair[1].y);
        dst[1] = make_float4(dt_pair[2].x, dt_pair[2].y, dt_pair[3].x, dt_pair[3].y);
      }
#pragma unroll
      for (int j = 0; j < kBC; ++j) {
        const int i = threadIdx.x + j * kThreads;
        if (i < 2 * TILE * kPad) (&staged[0][0][0])[i] = to_float(raw_bc[j]);
      }
    };
    // Several lanes a channel: the outputs of the tile at t_tile, from the shares its steps parked and the
    // skip and gate of the loader's items (read before store_tile replaces them). Whole rows of channels.
    const auto write_outputs = [&](int t_tile) {
      const int rem = t_end - t_tile - ld_k;
      float y[kItems];
#pragma unroll
      for (int j = 0; j < kItems; ++j) {
        const int k = ld_k + item_step(j), c = ld_c + item_channel(j);
        y[j] = (sum_lane_shares<TPC>(&y_share[k][share_slot(c) * TPC], (c >> 2) & 1) + own_out[0][j]) * own_out[1][j];
        if (!kVec && ld_ok && j * TPC < rem) out_next[j * TPC * out_ls] = from_float<T>(y[j]);
      }
      if constexpr (kVec) {
        if (ld_ok && rem > 0) store_vec4(out_next, y);
      }
      out_next += TILE * out_ls;
    };

    float h[S] = {}, dtsum = 0.f;
    // This row's summary of segment j in p.workspace: its end state (this lane's first state) and its
    // summed time steps. Formed only when the sequence is segmented.
    const int64_t n_summaries = seg.count - 1;
    const auto seg_state = [&](int64_t j) { return p.workspace + ((b * n_summaries + j) * p.dim + ln.d) * N + ln.n0; };
    const auto seg_dtsum = [&](int64_t j) {
      return p.workspace + p.batch * n_summaries * p.dim * N + (b * n_summaries + j) * p.dim + ln.d;
    };
    if (!kSummary && ln.active) {
      for (int j = 0; j < segment; ++j) {  // h = exp(A sum dt_j) h + h_end_j, segment by segment
        const float sj = *seg_dtsum(j);
        const float* h_end = seg_state(j);
#pragma unroll
        for (int s = 0; s < S; ++s)
          if (ln.n0 + s < N) h[s] = fast_exp2(sj * A2[s]) * h[s] + h_end[s];
      }
    }
    // Where the state at the next chunk boundary is saved: the boundary before step max(t_begin, kScanChunk)
    // first, a chunk further each time.
    const bool saves = !kSummary && p.saved_states && ln.active;
    float* saved_next =
        saves ? p.saved_states + ((b * n_saved + max(t_begin, kScanChunk) / kScanChunk - 1) * p.dim + ln.d) * N + ln.n0
              : nullptr;
    if (kPrefetch) load_tile(t_begin);
    int t_last = t_begin;  // the last tile's first step
    for (int t0 = t_begin; t0 < t_end; t0 += TILE) {
      // The previous tile's steps are done: its shares are complete and the shared values are free.
      __syncthreads();
      if constexpr (kShares) {
        if (t0 > t_begin) write_outputs(t0 - TILE);
      }
      if (!kPrefetch) load_tile(t0);
      store_tile(t0);
      if (kPrefetch && t0 + TILE < t_end) load_tile(t0 + TILE);  // in flight during this tile's arithmetic
      if (saves && t0 > 0 && t0 % kScanChunk == 0) {
#pragma unroll
        for (int s = 0; s < S; ++s)
          if (ln.n0 + s < N) saved_next[s] = h[s];
        saved_next += p.dim * N;
      }
      __syncthreads();  // the tile's values are staged; the previous tile's shares are read
      t_last = t0;
      // Step k's inputs: dt, dt u, and this lane's B_t / C_t (C is not read by the summary pass).
      struct StepIn {
        float dt, dtu, B[S], C[S];
      };
      const auto read_step = [&](int k) {
        StepIn v;
        if constexpr (kOwnLane) {
          v.dt = own_in[kFwdDt][k];
          v.dtu = own_in[kFwdDtU][k];
        } else {
          const float2 d = step_dt[k][channel_in_block];
          v.dt = d.x;
          v.dtu = d.y;
        }
        if constexpr (S == 2) {
          const float2 Bv = *reinterpret_cast<const float2*>(&staged[0][k][ln.n0]);
          const float2 Cv = kSummary ? Bv : *reinterpret_cast<const float2*>(&staged[1][k][ln.n0]);
          v.B[0] = Bv.x, v.B[1] = Bv.y, v.C[0] = Cv.x, v.C[1] = Cv.y;
        } else {
#pragma unroll
          for (int q = 0; q < S / 4; ++q) {
            const float4 Bv = reinterpret_cast<const float4*>(&staged[0][k][ln.n0])[q];
            const float4 Cv = kSummary ? Bv : reinterpret_cast<const float4*>(&staged[1][k][ln.n0])[q];
            v.B[4 * q] = Bv.x, v.B[4 * q + 1] = Bv.y, v.B[4 * q + 2] = Bv.z, v.B[4 * q + 3] = Bv.w;
            v.C[4 * q] = Cv.x, v.C[4 * q + 1] = Cv.y, v.C[4 * q + 2] = Cv.z, v.C[4 * q + 3] = Cv.w;
          }
        }
        return v;
      };
      // At several lanes a channel, step k + 1's shared reads are issued before step k's arithmetic: left in
      // program order, the compiler keeps each step's reads after the previous step's share store, and every
      // step then waits out their latency. (At one lane a channel the 16 states' registers are wanted.)
      constexpr bool kReadAhead = !kOwnLane;
      StepIn ahead = read_step(0);
#pragma unroll
      for (int k = 0; k < TILE; ++k) {  // steps past the end have dt = 0 and are not stored
        // At 16 states a lane, one step's 16 exps keep the lane busy, so a tile may stop early at the end of
        // a short sequence (every kStopEvery steps: 13 steps run 14 instead of 16) without losing overlap.
        // At 4, overlapping neighbouring steps matters more, and the loop has no branch.
        if (kStopEvery < TILE && k % kStopEvery == 0 && t0 + k >= t_end) break;
        const StepIn in = kReadAhead ? ahead : read_step(k);
        if (kReadAhead && k + 1 < TILE) ahead = read_step(k + 1);
        const float dt = in.dt, dtu = in.dtu;
        const float* Bs = in.B;
        const float* Cs = in.C;
        // One update of the states; the main pass also contracts them with C_t (the summary pass needs only
        // the end state and the summed dt).
        float y = 0.f;
#pragma unroll
        for (int s = 0; s < S; ++s) {
          h[s] = fast_exp2(dt * A2[s]) * h[s] + dtu * Bs[s];
          if constexpr (!kSummary) y += Cs[s] * h[s];
        }
        if constexpr (kSummary) {
          dtsum += dt;
        } else if constexpr (kOwnLane) {
          y = (y + own_in[kFwdSkip][k]) * own_in[kFwdGate][k];
          if (ln.active && t0 + k < t_end) out_next[k * out_ls] = from_float<T>(y);  // a predicate, no branch
        } else {
          y_share[k][share_slot(channel_in_block) * TPC + ln.slice] = y;
        }
      }
      if constexpr (kOwnLane) out_next += TILE * out_ls;
    }
    if constexpr (kShares) {
      __syncthreads();
      write_outputs(t_last);
    }
    if (kSummary && ln.active) {
      float* h_end = seg_state(segment);
#pragma unroll
      for (int s = 0; s < S; ++s)
        if (ln.n0 + s < N) h_end[s] = h[s];
      if (ln.slice == 0) *seg_dtsum(segment) = dtsum;
    }
  }
}

// First pass of a segmented backward (ScanBackwardSplit): segment blockIdx.z + 1 of batch row blockIdx.y,
// walked backwards from a zero adjoint. Per step and state, the adjoint of h_t gains C_t gy_t (gy: d loss /
// d y before the gate) and then passes to h_{t-1} times exp(dt_t A). Writes the adjoint reached at the
// segment's start (this lane's S states) and the segment's summed time steps, laid out in p.workspace as
// (batch, segments - 1, dim, dstate) adjoints followed by (batch, segments - 1, dim) sums. TPC lanes a channel
// of 4 states each, as the main pass; each tile of TILE steps is staged in shared memory first: (dt, gy) per
// (step, channel), C per (step, state).
template <typename T, int TPC, int TILE>
__global__ void __launch_bounds__(kThreads) scan_bwd_summary_kernel(const SelectiveScanCudaParams p,
                                                                     const SelectiveScanCudaGrads g,
                                                                     const ScanSegments seg) {
  constexpr int S = kStates, kPad = TPC * S, kChannels = kThreads / TPC;
  __shared__ __align__(16) float staged_C[TILE][kPad];
  __shared__ __align__(8) float2 step_in[TILE][kChannels];  // (dt, gy)
  const Lane<TPC, S> ln(p.dim);
  const int channel_in_block = threadIdx.x / TPC;
  const int N = static_cast<int>(p.dstate);
  const int64_t L = p.seqlen, b = blockIdx.y, segment = blockIdx.z + 1;
  const int64_t t_begin = segment * seg.len, t_end = min(L, t_begin + seg.len);
  float A2[S];
#pragma unroll
  for (int s = 0; s < S; ++s) A2[s] = (ln.active && ln.n0 + s < N) ? p.A[ln.dd * N + ln.n0 + s] * kLog2e : 0.f;
  const bool has_z = p.z != nullptr;
  const T* dout = static_cast<const T*>(g.dout) + b * L * p.dim;  // contiguous (batch, L, dim)
  float dh[S] = {}, dt_sum = 0.f;
  const int64_t n_tiles = (t_end - t_begin + TILE - 1) / TILE;
  for (int64_t tile = n_tiles - 1; tile >= 0; --tile) {
    const int64_t t0 = t_begin + tile * TILE;
    __syncthreads();  // the previous tile's values are read
    for (int i = threadIdx.x; i < TILE * kChannels; i += kThreads) {
      const int k = i / kChannels, c = i % kChannels;
      const int64_t t = t0 + k, d = int64_t(blockIdx.x) * kChannels + c;
      float dt = 0.f, gy = 0.f;  // steps past the segment's end pass the adjoint unchanged
      if (t < t_end && d < p.dim) {
        const RowInputs<T> in(p, b, d);
        dt = time_step(load_float(in.delta + t * p.delta_l_stride) + (p.delta_bias ? p.delta_bias[d] : 0.f),
                       p.delta_softplus);
        gy = load_float(dout + t * p.dim + d);
        if (has_z) {
          const float z_t = load_float(in.z + t * p.z_l_stride);
          gy *= z_t * fast_sigmoid(z_t);
        }
      }
      step_in[k][c] = make_float2(dt, gy);
    }
    for (int i = threadIdx.x; i < TILE * kPad; i += kThreads) {
      const int k = i / kPad, n = i % kPad;
      const int64_t t = t0 + k;
      staged_C[k][n] = (t < t_end && n < N)
                           ? load_float(static_cast<const T*>(p.C) + b * p.C_batch_stride + t * p.C_l_stride + n)
                           : 0.f;
    }
    __syncthreads();
#pragma unroll
    for (int k = TILE - 1; k >= 0; --k) {
      const float2 v = step_in[k][channel_in_block];
      const float4 Cv = *reinterpret_cast<const float4*>(&staged_C[k][ln.n0]);
      const float Cs[S] = {Cv.x, Cv.y, Cv.z, Cv.w};
#pragma unroll
      for (int s = 0; s < S; ++s) dh[s] = fast_exp2(v.x * A2[s]) * fmaf(Cs[s], v.y, dh[s]);
      dt_sum += v.x;
    }
  }
  if (ln.active) {
    const int64_t n_summaries = seg.count - 1, at = b * n_summaries + segment - 1;
    float* own = p.workspace + (at * p.dim + ln.d) * N + ln.n0;
#pragma unroll
    for (int s = 0; s < S; ++s)
      if (ln.n0 + s < N) own[s] = dh[s];
    if (ln.slice == 0) p.workspace[p.batch * n_summaries * p.dim * N + at * p.dim + ln.d] = dt_sum;
  }
}

// Between the two passes of a segmented backward: turns the segments' own adjoints (what
// scan_bwd_summary_kernel wrote) into the adjoint each segment i < count - 1 receives at its end, in place:
// g_i = exp(A sum dt_{i+1}) g_{i+1} + own_{i+1}, from the last segment down. One thread a (row, channel, state).
__global__ void scan_bwd_combine_kernel(const SelectiveScanCudaParams p, const ScanSegments seg) {
  const int64_t n_summaries = seg.count - 1, per_row = p.dim * p.dstate;
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= p.batch * per_row) return;
  const int64_t b = i / per_row, d = (i % per_row) / p.dstate;
  const float A2 = p.A[i % per_row] * kLog2e;
  float* own = p.workspace;
  const float* dt_sums = p.workspace + p.batch * n_summaries * per_row;
  float g = 0.f;
  for (int64_t j = n_summaries - 1; j >= 0; --j) {  // summary j is segment j + 1's
    const int64_t at = b * n_summaries + j;
    g = fmaf(fast_exp2(dt_sums[at * p.dim + d] * A2), g, own[at * per_row + i % per_row]);
    own[at * per_row + i % per_row] = g;  // now what segment j receives
  }
}

// The backward walks a chunk in groups of G steps. Each step, every lane parks its terms in shared memory;
// after each group the block sums them, double-buffered so that one barrier a group suffices. Who sums
// (selective_scan_bwd_sums): in groups of 2, the first warp forms every channel's du / ddelta / dz while two
// others sum the dB / dC terms; in groups of 4 (half the barriers, for grids too small to fill the GPU),
// the work is spread over the block, one (step, channel) row of outputs and one dB / dC term sum a thread
// (with 32 channels a block, 4 x 32 rows and 4 x 32 terms at d_state 16: every thread has both), so that no
// warp lags the barrier. Its shared memory takes 70 KiB (62 for the double buffers, 8 for the next chunk's
// inputs): 3 blocks an SM, which such a grid does not miss.

// The backward's shared memory, in floats, for TPC lanes a channel and chunks of K steps:
//   terms     (2 buffers, G, 2, kTermBlock): each lane's dB (0) and dC (1) terms of its states, at
//             channel * kPad + state. The 16 floats of padding put dC 16 banks from dB, so that the warps
//             summing them over channels read without bank conflicts;
//   lane_sums (2 buffers, G, kThreads, 4): each lane's share of <C, h> (yc), of d loss / d dt and of
//             <dh, B>; the block sums them over the channel's lanes and forms du / ddelta / dz from them,
//             so that the step loop needs no shuffles and the stores are whole coalesced rows;
//   staged    (2, K, kPad): B (0) and C (1) of the chunk's steps for the block's batch row;
//   inputs    (K, kChannels) float4s (u, dt, gy, d dt / d delta), then (K, kChannels) dz factors: per step
//             and channel, what every lane of the channel needs. Staging them all before the chunk's
//             arithmetic computes the softplus and the gate once per channel instead of once per lane;
//   raw       (4, K, kChannels) elements of u, delta, z and dout as loaded (float-sized room, so any dtype
//             fits): the next chunk's, copied asynchronously while the block walks the current one.
template <int TPC, int K, int G>
struct BackwardSmem {
  static constexpr int kPad = TPC * kStates;        // states per channel, padded
  static constexpr int kChannels = kThreads / TPC;  // channels per block
  static constexpr int kTermBlock = kChannels * kPad + 16;
  static constexpr int kTerms = 2 * G * 2 * kTermBlock;
  static constexpr int kLaneSums = 2 * G * kThreads * 4;
  static constexpr int kStaged = 2 * K * kPad;
  static constexpr int kInputs = kBackwardInputs * K * kChannels;
  static constexpr bool kAsync = TPC == 4;  // see scan_bwd_kernel's issue_copies
  static constexpr int kRaw = kAsync ? 4 * K * kChannels : 0;
  static constexpr int kFloats = kTerms + kLaneSums + kStaged + kInputs + kRaw;
};

// Where lane `slice` of channel c parks its float4 of lane sums within a step's kThreads float4s. The
// channel's TPC slots are rotated by c * TPC / 8 so that both the writing warp (a lane per slot) and the
// summing warp (a thread per channel, reading slot j of each) touch 8 different 16-byte bank groups per
// quarter warp.
template <int TPC>
__device__ __forceinline__ int lane_sum_slot(int c, int slice) {
  return c * TPC + (slice + c * TPC / 8) % TPC;
}

// At most 128 registers a thread, so that 4 blocks (16 warps) fit an SM: the kernel is latency-bound, and
// warps are what hides the latency. K: steps a chunk, kScanChunk, or fewer when the whole sequence fits one
// chunk (tabular sequences, L about 13: no idle steps to pay for). G: steps a group; kSpread: the group's
// sums spread over the block (see the comment above BackwardSmem).
// blockIdx.z: the segment (ScanBackwardSplit) whose chunks the block walks; 0 of 1 when L is not split.
template <typename T, int TPC, int K, int G, bool kSpread>
__global__ void __launch_bounds__(kThreads, 4)
    scan_bwd_kernel(const SelectiveScanCudaParams p, const SelectiveScanCudaGrads g, const ScanSegments seg) {
  using Smem = BackwardSmem<TPC, K, G>;
  constexpr int kPad = Smem::kPad, kChannels = Smem::kChannels, kTermBlock = Smem::kTermBlock;
  static_assert(K % G == 0 && K <= kScanChunk, "a chunk is whole groups, at most kScanChunk steps");
  // Threads forming outputs: one per channel (all G steps), or one per (step in group, channel).
  constexpr int kWriters = kSpread ? G * kChannels : kChannels;
  static_assert(kWriters <= kThreads && (kSpread || G == 2), "spread: a (step, channel) row a thread at most");
  extern __shared__ __align__(16) float smem[];
  float* terms = smem;
  float* lane_sums = terms + Smem::kTerms;
  float* staged = lane_sums + Smem::kLaneSums;
  float4* step_inputs = reinterpret_cast<float4*>(staged + Smem::kStaged);  // (u, dt, gy, d dt / d delta)
  float* dz_factors = staged + Smem::kStaged + 4 * K * kChannels;
  T* raw = reinterpret_cast<T*>(staged + Smem::kStaged + Smem::kInputs);  // (4, K, kChannels): u, delta, z, dout
  const int channel_in_block = threadIdx.x / TPC;
  const Lane<TPC, kStates> ln(p.dim);
  const int N = static_cast<int>(p.dstate);
  const int64_t L = p.seqlen, dim = p.dim, n_saved = scan_saved_states(L);
  const int L32 = static_cast<int>(L), dim32 = static_cast<int>(dim);
  const int u_ls = static_cast<int>(p.u_l_stride), dl_ls = static_cast<int>(p.delta_l_stride);
  const int z_ls = static_cast<int>(p.z_l_stride), B_ls = static_cast<int>(p.B_l_stride), C_ls = static_cast<int>(p.C_l_stride);
  // This segment's chunks: [first_chunk, first_chunk + n_chunks). Segments are whole chunks (seg.len is a
  // multiple of kScanChunk when count > 1; K < kScanChunk only for one-chunk sequences, never split).
  // 32-bit, and constants for one-chunk sequences: registers are the kernel's limit (128, no spills).
  constexpr bool kOneChunk = K < kScanChunk;
  const int first_chunk = kOneChunk ? 0 : static_cast<int>(blockIdx.z * seg.len / K);
  const int n_chunks = static_cast<int>(
      kOneChunk ? (L + K - 1) / K : (min(L, (blockIdx.z + 1) * seg.len) - blockIdx.z * seg.len + K - 1) / K);
  float A[kStates], A2[kStates];
#pragma unroll
  for (int s = 0; s < kStates; ++s) {
    A[s] = (ln.active && ln.n0 + s < N) ? p.A[ln.dd * N + ln.n0 + s] : 0.f;
    A2[s] = A[s] * kLog2e;
  }
  const bool has_z = p.z != nullptr;
  float dA_acc[kStates] = {};

  // The staging view: thread i handles channel i % kChannels of the block at steps i / kChannels + j TPC.
  // Threads 0 .. kWriters - 1 also form the outputs of their channel (st_c) and keep its dD / ddelta_bias
  // sums: of every step of a group, or, spread, of step threadIdx.x / kChannels of each group.
  const int st_c = threadIdx.x % kChannels;
  const int64_t st_d = int64_t(blockIdx.x) * kChannels + st_c;
  const bool st_ok = st_d < dim;
  const float st_bias = (p.delta_bias && st_ok) ? p.delta_bias[st_d] : 0.f;
  const float st_D = (p.D && st_ok) ? p.D[st_d] : 0.f;
  const bool writes_outputs = threadIdx.x < kWriters;
  float dD_acc = 0.f, dbias_acc = 0.f;
  // This thread's share of the term sums after each group: items i = (step in group, dB / dC, state), the
  // first ones taken by the threads past the output writers so that the two jobs run side by side. Decoded
  // once here: d_state is a runtime value, and dividing by it every group costs more than the sums.
  constexpr int kTermItems = (G * 2 * kPad + kThreads - 1) / kThreads;
  int term_item[kTermItems];  // state | dC << 7 | step in group << 8, or -1 for none
#pragma unroll
  for (int j = 0; j < kTermItems; ++j) {
    const int i = (threadIdx.x + kThreads - kWriters) % kThreads + j * kThreads;
    const int kk = i / (2 * N);
    term_item[j] = kk < G ? (i % N) | ((i / N) % 2) << 7 | kk << 8 : -1;
  }

  // The block's work: its batch rows blockIdx.y, blockIdx.y + gridDim.y, ..., each walked from the last
  // chunk of its segment to the first; item w is the segment's chunk n_chunks - 1 - w % n_chunks of the
  // block's row w / n_chunks.
  // (A block's item count fits 32 bits: the host refuses batch x chunks of 2^31 or more.)
  const int n_items = static_cast<int>((p.batch - blockIdx.y + gridDim.y - 1) / gridDim.y) * n_chunks;
  const auto item_row = [&](int w) { return int64_t(blockIdx.y) + int64_t(w / n_chunks) * gridDim.y; };
  const auto item_chunk = [&](int w) { return int64_t(first_chunk + n_chunks - 1 - w % n_chunks); };
  float dh[kStates] = {};  // adjoint of h_t, carried backwards across chunks

  // The chunk's u, delta, z and dout come into `raw` by asynchronous copies issued during the previous
  // chunk's walk, so that the loads' latency (the kernel's largest stall when each chunk loaded its own
  // inputs) hides behind arithmetic. 16-byte pieces of a (tensor, step) row of the block's channels; this
  // needs every row start 16-byte aligned (uniform over the grid), else the staging loads directly. Built at
  // four lanes a channel (d_state 9 .. 16, the LM and tabular shapes) only: with more channels a block the
  // copies' unrolled bookkeeping spills registers.
  constexpr int kPieceElems = 16 / static_cast<int>(sizeof(T));
  constexpr int kRowPieces = kChannels / kPieceElems;
  constexpr int kPieces = 4 * K * kRowPieces;
  const auto stride_ok = [&](int64_t stride) { return stride % kPieceElems == 0; };
  const bool async_ok = Smem::kAsync && kChannels % kPieceElems == 0 && stride_ok(p.dim) && aligned16(p.u) && aligned16(p.delta) &&
                        aligned16(g.dout) && stride_ok(p.u_l_stride) && stride_ok(p.u_batch_stride) &&
                        stride_ok(p.delta_l_stride) && stride_ok(p.delta_batch_stride) &&
                        (!has_z || (aligned16(p.z) && stride_ok(p.z_l_stride) && stride_ok(p.z_batch_stride)));
  const auto issue_copies = [&](int w) {
    const int64_t b = item_row(w);
    const int t0 = static_cast<int>(item_chunk(w)) * K;
    const int64_t c_block = int64_t(blockIdx.x) * kChannels;
    const T* __restrict__ u_row = static_cast<const T*>(p.u) + b * p.u_batch_stride + c_block;
    const T* __restrict__ dl_row = static_cast<const T*>(p.delta) + b * p.delta_batch_stride + c_block;
    const T* __restrict__ z_row = has_z ? static_cast<const T*>(p.z) + b * p.z_batch_stride + c_block : u_row;
    const T* __restrict__ dout_row = static_cast<const T*>(g.dout) + b * L * dim + c_block;
#pragma unroll
    for (int r = 0; r < (Smem::kAsync ? (kPieces + kThreads - 1) / kThreads : 0); ++r) {
      const int i = threadIdx.x + r * kThreads;
      if (kPieces % kThreads != 0 && i >= kPieces) break;
      const int row = i / kRowPieces, piece = i % kRowPieces;
      const int q = row / K, k = row % K;  // tensor (u, delta, z, dout) and step
      const T* row_q = q == 0 ? u_row : q == 1 ? dl_row : q == 2 ? z_row : dout_row;
      const int ls = q == 0 ? u_ls : q == 1 ? dl_ls : q == 2 ? z_ls : dim32;
      const bool ok = t0 + k < L32 && c_block + piece * kPieceElems < dim && (q != 2 || has_z);
      cp_async16(raw + row * kChannels + piece * kPieceElems, ok ? row_q + (t0 + k) * ls + piece * kPieceElems : u_row,
                 ok ? 16 : 0);
    }
  };
  if (async_ok && n_items > 0) {
    issue_copies(0);
    cp_async_wait_all();
    __syncthreads();
  }
  for (int w = 0; w < n_items; ++w) {
    const int64_t b = item_row(w), c = item_chunk(w);
    if (c == first_chunk + n_chunks - 1) {
      // A row starts: zero adjoint past the sequence's end; at an earlier segment's end, the adjoint the
      // segments after it pass back (combined by scan_bwd_combine_kernel in p.workspace).
      const bool carried = !kOneChunk && ln.active && blockIdx.z + 1 < seg.count;
      const float* g_in = p.workspace + ((b * (seg.count - 1) + blockIdx.z) * dim + ln.dd) * N + ln.n0;
#pragma unroll
      for (int s = 0; s < kStates; ++s) dh[s] = (carried && ln.n0 + s < N) ? g_in[s] : 0.f;
    }
    const int t0 = static_cast<int>(c) * K;
    const int len = min(K, L32 - t0);
    const int64_t st_row = b * L * dim + (st_ok ? st_d : 0);  // offset of (b, 0, st_d) in the contiguous tensors
    {  // the previous item ended with a barrier: staged and inputs are free
      // Offsets inside a batch row are 32-bit (check_params): one multiply-add a load on the row's pointers.
      const RowInputs<T> st_in(p, b, st_ok ? st_d : 0);
      const T* __restrict__ B_t0 = materialized(st_in.B + t0 * B_ls);
      const T* __restrict__ C_t0 = materialized(st_in.C + t0 * C_ls);
      // Element i = threadIdx.x + j kThreads of staged: state i % kPad of step (i / kPad) % K of B, then of C.
#pragma unroll
      for (int j = 0; j < (2 * K * kPad + kThreads - 1) / kThreads; ++j) {
        const unsigned i = threadIdx.x + j * kThreads;
        const int n = static_cast<int>(i % kPad), k = static_cast<int>((i / kPad) % K);
        const bool is_c = staging_at_or_past<K * kPad>(j);
        if (!staging_at_or_past<2 * K * kPad>(j))
          staged[i] = (k < len && n < N) ? load_float(is_c ? C_t0 + k * C_ls + n : B_t0 + k * B_ls + n) : 0.f;
      }
      // (b, t0 + the staging thread's first step, st_d) of each input
      const int k_first = threadIdx.x / kChannels;
      const T* __restrict__ u_first = materialized(st_in.u + (t0 + k_first) * u_ls);
      const T* __restrict__ dl_first = materialized(st_in.delta + (t0 + k_first) * dl_ls);
      const T* __restrict__ z_first = has_z ? materialized(st_in.z + (t0 + k_first) * z_ls) : nullptr;
      const T* __restrict__ dout_first = materialized(static_cast<const T*>(g.dout) + st_row + (t0 + k_first) * dim32);
#pragma unroll
      for (int j = 0; j < (K + TPC - 1) / TPC; ++j) {
        const int k = k_first + j * TPC;
        float u_t = 0.f, dt = 0.f, d_dt_dx = 0.f, gy = 0.f, dzc = 0.f;
        if (st_ok && k < len) {
          float dl, z_t, dout_t;
          if (async_ok) {
            const T* at = raw + k * kChannels + st_c;
            u_t = to_float(at[0]);
            dl = to_float(at[K * kChannels]);
            z_t = to_float(at[2 * K * kChannels]);  // zeros without z
            dout_t = to_float(at[3 * K * kChannels]);
          } else {
            u_t = load_float(u_first + j * TPC * u_ls);
            dl = load_float(dl_first + j * TPC * dl_ls);
            z_t = has_z ? load_float(z_first + j * TPC * z_ls) : 0.f;
            dout_t = load_float(dout_first + j * TPC * dim32);
          }
          dt = time_step(dl + st_bias, p.delta_softplus, &d_dt_dx);
          gy = dout_t;
          if (has_z) {  // y = y_pre silu(z): d y / d y_pre = z sig(z), d y / d z = y_pre sig(z) (1 + z (1 - sig(z)))
            const float sig = fast_sigmoid(z_t);
            gy = dout_t * z_t * sig;
            dzc = dout_t * sig * (1.f + z_t * (1.f - sig));
          }
        }
        if (k < K) {
          step_inputs[k * kChannels + st_c] = make_float4(u_t, dt, gy, d_dt_dx);
          dz_factors[k * kChannels + st_c] = dzc;
        }
      }
      __syncthreads();
    }
    // Every thread is past the staging: raw is free for the next chunk's inputs.
    if (async_ok && w + 1 < n_items) issue_copies(w + 1);
    const auto input = [&](int k) { return step_inputs[k * kChannels + channel_in_block]; };
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
      for (int k = 0; k < K; ++k) {  // steps past len have dt = u = 0: h passes unchanged, no branch needed
        const float4 in = input(k);
        const float u_t = in.x, dt = in.y;
        const float4 Bv = staged_B(k);
        const float Bs[kStates] = {Bv.x, Bv.y, Bv.z, Bv.w};
        const float dtu = dt * u_t;
#pragma unroll
        for (int s = 0; s < kStates; ++s) {
          h[s] = fmaf(fast_exp2(dt * A2[s]), h[s], dtu * Bs[s]);
          hist[k][s] = h[s];
        }
      }
    }
    // After the group of steps [k0, k0 + G) (buffers `buf`): sum the parked terms over the block's channels
    // into this channel group's partials of dB_t / dC_t, and each channel's lane sums into its du / ddelta /
    // dz. Every thread of the block calls it (len is uniform over the block).
    // The chunk's first step of this thread's channel in du / ddelta / dz.
    T* __restrict__ du_t0 = materialized(static_cast<T*>(g.du) + st_row + t0 * dim32);
    T* __restrict__ ddelta_t0 = materialized(static_cast<T*>(g.ddelta) + st_row + t0 * dim32);
    T* __restrict__ dz_t0 = has_z ? materialized(static_cast<T*>(g.dz) + st_row + t0 * dim32) : nullptr;
    const auto form_outputs = [&](int k, int buf_step) {  // step k of the chunk, parked at buf_step
      const float* sums = lane_sums + buf_step * kThreads * 4;
      float yc = 0.f, ddt = 0.f, dhB = 0.f;
#pragma unroll
      for (int j = 0; j < TPC; ++j) {
        const float4 v = *reinterpret_cast<const float4*>(sums + lane_sum_slot<TPC>(st_c, j) * 4);
        yc += v.x;
        ddt += v.y;
        dhB += v.z;
      }
      const float4 in = step_inputs[k * kChannels + st_c];
      const float u_t = in.x, gy = in.z;
      const float du_t = fmaf(st_D, gy, in.y * dhB);
      const float ddelta_t = ddt * in.w;
      // d loss / d z from y_pre (before the gate); the factor is 0 without z
      const float dz_t = dz_factors[k * kChannels + st_c] * fmaf(st_D, u_t, yc);
      dD_acc = fmaf(gy, u_t, dD_acc);  // zero past len: gy and u are
      dbias_acc += ddelta_t;
      if (k < len) {
        const int o = k * dim32;  // from (b, t0, st_d)
        du_t0[o] = from_float<T>(du_t);
        ddelta_t0[o] = from_float<T>(ddelta_t);
        if (has_z) dz_t0[o] = from_float<T>(dz_t);
      }
    };
    const auto flush_group = [&](int k0, int buf) {
      __syncthreads();
      if (writes_outputs && st_ok) {
        if constexpr (kSpread) {
          const int kk = threadIdx.x / kChannels;
          form_outputs(k0 + kk, buf * G + kk);
        } else {
#pragma unroll
          for (int kk = 0; kk < G; ++kk) form_outputs(k0 + kk, buf * G + kk);
        }
      }
#pragma unroll
      for (int j = 0; j < kTermItems; ++j) {
        const int n = term_item[j] & 127, which = (term_item[j] >> 7) & 1, kk = term_item[j] >> 8;
        const int k = k0 + kk;
        if (term_item[j] < 0 || k >= len) continue;
        const float* col = terms + (buf * G * 2 + kk * 2 + which) * kTermBlock + n;
        float acc[4] = {};
#pragma unroll
        for (int ch = 0; ch < kChannels; ch += 4) {
#pragma unroll
          for (int q = 0; q < 4; ++q) acc[q] += col[(ch + q) * kPad];
        }
        float* dst_row = (which ? g.dC_part : g.dB_part) + (int64_t(blockIdx.x) * p.batch + b) * L * N;
        dst_row[(t0 + k) * N + n] = (acc[0] + acc[1]) + (acc[2] + acc[3]);
      }
    };
    // Walk the chunk backwards.
#pragma unroll
    for (int k = K - 1; k >= 0; --k) {
      // Steps past len (zero inputs, zero B / C) change nothing and store nothing: computing them instead
      // of branching around them lets the compiler overlap neighbouring steps.
      const float4 in = input(k);
      const float u_t = in.x, dt = in.y;
      const float gy = in.z;  // d loss / d y_pre
      const float4 Bv = staged_B(k), Cv = staged_C(k);
      const float Bs[kStates] = {Bv.x, Bv.y, Bv.z, Bv.w}, Cs[kStates] = {Cv.x, Cv.y, Cv.z, Cv.w};
      // With dh the adjoint of h_t (C gy added), per state: dC = gy h_t, dB = dh dt u, and through
      // h_t = a h_{t-1} + dt u B with a = exp(dt A): d dt gets dh a h_{t-1} A + dh B u, dA gets
      // dh a h_{t-1} dt, du gets dh B dt, and dh a is the adjoint of h_{t-1}. The dh B u terms are summed
      // as u (sum of dh B), one multiply a step instead of one a state.
      const float dtu = dt * u_t;
      float yc = 0.f, ddt = 0.f, dhB = 0.f, dB[kStates], dC[kStates];
#pragma unroll
      for (int s = 0; s < kStates; ++s) {
        const float a = fast_exp2(dt * A2[s]);
        const float h_prev = k > 0 ? hist[k - 1][s] : h0[s];
        yc = fmaf(Cs[s], hist[k][s], yc);
        dh[s] = fmaf(Cs[s], gy, dh[s]);
        dC[s] = gy * hist[k][s];
        dB[s] = dh[s] * dtu;
        dhB = fmaf(dh[s], Bs[s], dhB);
        dh[s] *= a;  // now the adjoint of h_{t-1} through the recurrence
        const float dh_a_hprev = dh[s] * h_prev;
        ddt = fmaf(dh_a_hprev, A[s], ddt);
        dA_acc[s] = fmaf(dh_a_hprev, dt, dA_acc[s]);
      }
      const int buf = (k / G) % 2, kk = k % G;
      float* slot = terms + (buf * G + kk) * 2 * kTermBlock + channel_in_block * kPad + ln.n0;
      *reinterpret_cast<float4*>(slot) = make_float4(dB[0], dB[1], dB[2], dB[3]);
      *reinterpret_cast<float4*>(slot + kTermBlock) = make_float4(dC[0], dC[1], dC[2], dC[3]);
      float* sum_slot = lane_sums + ((buf * G + kk) * kThreads + lane_sum_slot<TPC>(channel_in_block, ln.slice)) * 4;
      *reinterpret_cast<float4*>(sum_slot) = make_float4(yc, fmaf(u_t, dhB, ddt), dhB, 0.f);
      // A group is done: sum it (groups wholly past len have nothing to sum; len is uniform over the block).
      if (kk == 0 && k < len) flush_group(k, buf);
    }
    if (async_ok) cp_async_wait_all();  // this thread's copies for the next chunk; the barrier publishes them
    __syncthreads();  // the last group's sums read inputs; the next item restages them
  }
  const int64_t param_group = int64_t(blockIdx.z) * gridDim.y + blockIdx.y;  // which partial of dA / dD / ddelta_bias
  if (ln.active) {
#pragma unroll
    for (int s = 0; s < kStates; ++s)
      if (ln.n0 + s < N) g.dA_part[(param_group * dim + ln.d) * N + ln.n0 + s] = dA_acc[s];
  }
  if constexpr (kSpread) {
    // A channel's dD / ddelta_bias sums are spread over the G threads that formed its outputs (one per step
    // of a group): combine them. The last item ended with a barrier, so the terms buffer is free.
    terms[threadIdx.x] = dD_acc;
    terms[kThreads + threadIdx.x] = dbias_acc;
    __syncthreads();
    if (threadIdx.x < kChannels) {
#pragma unroll
      for (int kk = 1; kk < G; ++kk) {
        dD_acc += terms[kk * kChannels + threadIdx.x];
        dbias_acc += terms[kThreads + kk * kChannels + threadIdx.x];
      }
    }
  }
  if (threadIdx.x < kChannels && st_ok) {
    if (g.dD_part) g.dD_part[param_group * dim + st_d] = dD_acc;
    if (g.ddelta_bias_part) g.ddelta_bias_part[param_group * dim + st_d] = dbias_acc;
  }
}

// One output element a thread of the sums of a backward's partials: the flat index runs over dB, dC (their
// `bc` elements each, converted to T), dA (`a`), dD and ddelta_bias (`d` each, when present). The partials
// of an element are `stride` apart; four running sums let their loads overlap.
// Sum of the `parts` partials of element e, `stride` apart; four running sums let their loads overlap.
__device__ __forceinline__ float sum_strided(const float* src, int64_t parts, int64_t stride, int64_t e) {
  float acc[4] = {};
  int64_t g = 0;
  for (; g + 4 <= parts; g += 4) {
#pragma unroll
    for (int q = 0; q < 4; ++q) acc[q] += __ldg(src + (g + q) * stride + e);
  }
  for (; g < parts; ++g) acc[0] += __ldg(src + g * stride + e);
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

// One output element a thread of the sums of a backward's partials: the flat index runs over dB, dC (their
// `bc` elements each, converted to T, summed over channel groups), dA (`a`), dD and ddelta_bias (`d` each,
// when present; summed over batch groups).
template <typename T>
__global__ void sum_partials_kernel(const ScanPartialSums s) {
  const int64_t bc = s.batch * s.seqlen * s.dstate, a = s.dim * s.dstate, d = s.dim;
  const int64_t total = 2 * bc + a + 2 * d;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    if (i < 2 * bc) {
      const bool is_B = i < bc;
      const int64_t e = is_B ? i : i - bc;
      const float sum = sum_strided(is_B ? s.dB_part : s.dC_part, s.split.channel_groups, bc, e);
      static_cast<T*>(is_B ? s.dB : s.dC)[e] = from_float<T>(sum);
      continue;
    }
    const int64_t j = i - 2 * bc;
    const float* src;
    float* dst;
    int64_t e, stride;
    if (j < a) {
      src = s.dA_part, dst = s.dA, e = j, stride = a;
    } else if (j < a + d) {
      src = s.dD_part, dst = s.dD, e = j - a, stride = d;
    } else {
      src = s.ddelta_bias_part, dst = s.ddelta_bias, e = j - a - d, stride = d;
    }
    if (src != nullptr) dst[e] = sum_strided(src, s.split.param_partials(), stride, e);
  }
}

// The largest power of two <= n (n >= 1), for segment counts: on the H100 at d_inner 2048 the segment counts
// between powers of two measured no better than the power below them (backward, batch 4, L 512: 238 us in 4
// segments, 248 in 5; forward, batch 2, L 512: 47 us in 4, 54 in 5).
int64_t floor_pow2(int64_t n) {
  int64_t p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
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
  // The kernels address elements inside one batch row with 32-bit offsets (t * l_stride + column).
  // (A tile's cursor may run one tile past the end: a chunk of margin.)
  const auto row_span = [&](int64_t l_stride, int64_t width) { return (p.seqlen + kScanChunk) * l_stride + width; };
  const int64_t span = std::max({row_span(p.u_l_stride, p.dim), row_span(p.delta_l_stride, p.dim),
                                 row_span(p.z ? p.z_l_stride : 0, p.dim), row_span(p.B_l_stride, p.dstate),
                                 row_span(p.C_l_stride, p.dstate), p.seqlen * p.dim, p.seqlen * p.dstate});
  if (p.seqlen > 0 && span >= (int64_t(1) << 31))
    throw std::runtime_error("selective_scan (CUDA): one batch row spans " + std::to_string(span) +
                             " elements; the kernels take under 2^31 (split the batch or the sequence)");
}

int64_t channel_blocks(const SelectiveScanCudaParams& p, int tpc) {
  const int64_t per_block = kThreads / tpc;
  return (p.dim + per_block - 1) / per_block;
}

constexpr int64_t kMaxGridY = 65535;

// How a pass whose grid has `have` blocks cuts L into segments of whole chunks: `forced` segments when it is
// set (1: never split), else, when the grid leaves an SM under 2 blocks, the power of two at or below the count
// that gives about `aim_per_sm` blocks an SM, each segment at least kMinSegment steps so that the first pass
// and the combination stay small beside the main pass. Sequences of one chunk are never split.
ScanSegments split_into_segments(int64_t seqlen, int64_t have, int64_t aim_per_sm, int64_t forced) {
  constexpr int64_t kMinSegment = 64;
  const int64_t sms = cuda_sm_count();
  have = std::max<int64_t>(have, 1);
  int64_t count = forced;
  if (count == 0)
    count = have >= 2 * sms ? 1
                            : floor_pow2(std::max<int64_t>(1, std::min((aim_per_sm * sms + have - 1) / have,
                                                                       seqlen / kMinSegment)));
  count = std::min(count, (seqlen + kScanChunk - 1) / kScanChunk);
  ScanSegments seg;
  seg.len = std::max<int64_t>(seqlen, 1);
  if (count < 2) return seg;
  seg.len = ((seqlen + count - 1) / count + kScanChunk - 1) / kScanChunk * kScanChunk;
  seg.count = (seqlen + seg.len - 1) / seg.len;
  return seg;
}

// Floats of scratch a segmented pass needs: (batch, count - 1, dim, dstate + 1); 0 without segments.
int64_t segment_workspace_floats(const SelectiveScanCudaParams& p, const ScanSegments& seg) {
  return seg.count > 1 ? p.batch * (seg.count - 1) * p.dim * (p.dstate + 1) : 0;
}

}  // namespace

ScanBackwardSplit selective_scan_bwd_split(const SelectiveScanCudaParams& p) {
  ScanBackwardSplit s;
  const int64_t sms = cuda_sm_count();
  s.channel_groups = std::max<int64_t>(1, channel_blocks(p, lanes_per_channel(p.dstate, kStates)));
  // Enough blocks for about 8 per SM; each extra batch group costs one more (dim, dstate) partial.
  const int64_t want = (sms * 8 + s.channel_groups - 1) / s.channel_groups;
  s.batch_groups = std::max<int64_t>(1, std::min({p.batch, want, kMaxGridY}));
  // Segments when the grid leaves SMs short of blocks (under 2 an SM), aiming at 8 blocks an SM: more than
  // fit at once, but shorter segments keep finishing, so the SMs stay busy. Measured on the H100 at d_inner
  // 2048 (64 channel blocks), fp32: batch 1, L 512: 237 us unsplit, 104 in 4 segments, 76 in 8; batch 4,
  // L 512: 286 unsplit, 236 in 4, 244 in 8. At the LM shape (384 blocks) splitting costs time (1,231 us
  // unsplit, 1,300-1,555 in 2-8 segments), so 2 blocks an SM is where it stops. Above kMaxGridY rows, never:
  // the first pass takes a block row per batch row.
  if (p.bwd_segments < 0) throw std::runtime_error("selective_scan (CUDA): bwd_segments must be >= 0");
  s.seg = split_into_segments(p.seqlen, s.channel_groups * s.batch_groups, 8, p.batch > kMaxGridY ? 1 : p.bwd_segments);
  return s;
}

int64_t selective_scan_bwd_workspace_floats(const SelectiveScanCudaParams& p) {
  return segment_workspace_floats(p, selective_scan_bwd_split(p).seg);
}

int selective_scan_bwd_sums(const SelectiveScanCudaParams& p) {
  if (p.bwd_sums != 0 && p.bwd_sums != 1 && p.bwd_sums != 4)
    throw std::runtime_error("selective_scan (CUDA): bwd_sums must be 0, 1 or 4");
  if (p.bwd_sums != 0) return p.bwd_sums;
  // Groups of 4 on full chunks when the grid leaves an SM at most 3 blocks anyway (their shared memory allows
  // no more): the LM shape's 384 blocks, 1,307 -> 1,237 us (fp32, H100). Spreading groups of 2 over the
  // block gained nothing there and cost 1% at the tabular shape, which keeps the first-warp form.
  const ScanBackwardSplit split = selective_scan_bwd_split(p);
  const int64_t blocks = split.channel_groups * split.batch_groups * split.seg.count;
  return p.seqlen > 14 && blocks <= 3 * int64_t(cuda_sm_count()) ? 4 : 1;
}

ScanForwardPlan selective_scan_fwd_plan(const SelectiveScanCudaParams& p) {
  ScanForwardPlan plan;
  const int64_t sms = cuda_sm_count(), rows = std::min(p.batch, kMaxGridY);
  const auto blocks = [&](int per_lane) { return channel_blocks(p, lanes_per_channel(p.dstate, per_lane)) * rows; };
  // One lane a channel (at d_state <= 16) while that gives 4 blocks (16 warps) an SM; four lanes below that.
  // Four a lane applies for 4 < d_state <= 32 only: below, it would be the same single lane; above, the
  // 16 lanes' B / C staging would not fit the registers.
  if (p.fwd_states_per_lane != 0 && p.fwd_states_per_lane != 16 && p.fwd_states_per_lane != 4 &&
      p.fwd_states_per_lane != 2)
    throw std::runtime_error("selective_scan (CUDA): fwd_states_per_lane must be 16, 4 or 2");
  // Two a lane (eight lanes a channel, at 8 < d_state <= 16) when four a lane leaves an SM under 2 blocks and
  // doubling the lanes lifts it to 2 without segments. (H100, d_inner 2048, batch 4, L 512: 52.8 us against
  // 63.7 at four a lane in 2 segments. At the LM shape, 2.9 blocks an SM at four, two a lane is slower, 271
  // against 252 us: each step's shared-memory reads and share store serve half the states. Where even eight
  // lanes stay under 2 blocks an SM, segments at four a lane measured faster: batch 1, L 1024, 39.9 us in 8
  // against 42.7 at two a lane in 4.)
  const bool four_apply = p.dstate > 4 && p.dstate <= 32, two_apply = p.dstate > 8 && p.dstate <= 16;
  const int by_shape = blocks(16) >= 4 * sms                                ? 16
                       : (blocks(4) < 2 * sms && blocks(2) >= 2 * sms) ? 2
                                                                         : 4;
  const int want_lane = p.fwd_states_per_lane ? p.fwd_states_per_lane : by_shape;
  plan.states_per_lane = (want_lane == 2 && two_apply) ? 2 : (want_lane != 16 && four_apply) ? 4 : 16;
  // Segments when even that leaves under 2 blocks an SM, aiming at 4 an SM. (H100, fp32, d_inner 2048: batch
  // 1, L 512 takes 8 segments, 29.7 us against 40.0 in 4; L 1024 keeps 8 of 128 steps, 50.6 us, where 16
  // take 55.1. Aiming at 8 blocks an SM, as the backward does, measured slower here.)
  plan.seg = split_into_segments(p.seqlen, blocks(plan.states_per_lane), 4, p.fwd_segments);
  return plan;
}

int64_t selective_scan_fwd_workspace_floats(const SelectiveScanCudaParams& p) {
  return segment_workspace_floats(p, selective_scan_fwd_plan(p).seg);
}

namespace {
// Whether the forward's loader may take four channels at a time (scan_fwd_kernel's kVec): d_inner, the
// strides and the starts of u, delta, z and out multiples of four elements, so that every row of four
// channels is one aligned 8- or 16-byte access.
template <typename T>
bool fwd_rows_vectorizable(const SelectiveScanCudaParams& p) {
  constexpr uintptr_t kVecBytes = 4 * sizeof(T);
  const auto rows_ok = [&](const void* ptr, int64_t batch_stride, int64_t l_stride) {
    return reinterpret_cast<uintptr_t>(ptr) % kVecBytes == 0 && batch_stride % 4 == 0 && l_stride % 4 == 0;
  };
  return p.dim % 4 == 0 && reinterpret_cast<uintptr_t>(p.out) % kVecBytes == 0 &&
         rows_ok(p.u, p.u_batch_stride, p.u_l_stride) && rows_ok(p.delta, p.delta_batch_stride, p.delta_l_stride) &&
         (p.z == nullptr || rows_ok(p.z, p.z_batch_stride, p.z_l_stride));
}

// Launches the summary pass (when segmented) and the main pass of the forward at S states a lane. Tiles of
// 8 steps at 16 states a lane or 2 lanes a channel (whose loader has twice the items a tile), else 16.
template <typename T, int S>
void launch_scan_fwd(const SelectiveScanCudaParams& p, const ScanSegments& seg, cudaStream_t stream) {
  const int tpc = lanes_per_channel(p.dstate, S);
  const unsigned gx = static_cast<unsigned>(channel_blocks(p, tpc)), gy = static_cast<unsigned>(std::min(p.batch, kMaxGridY));
  const auto launch = [&](auto lanes) {
    constexpr int kLanes = decltype(lanes)::value;
    constexpr int kTile = (S == 16 || kLanes == 2) ? 8 : 16;
    // the lane counts plans use (two a lane: eight lanes, d_state 9 .. 16, only)
    if constexpr (S == 16 ? kLanes <= 4 : S == 2 ? kLanes == 8 : (kLanes >= 2 && kLanes <= 8)) {
      if (seg.count > 1)
        scan_fwd_kernel<T, kLanes, S, kTile, true><<<dim3(gx, gy, unsigned(seg.count - 1)), kThreads, 0, stream>>>(p, seg);
      const dim3 grid(gx, gy, unsigned(seg.count));
      if constexpr (S == 4 && kLanes == 4) {
        if (!p.fwd_scalar_loads && fwd_rows_vectorizable<T>(p))
          return scan_fwd_kernel<T, 4, 4, kTile, false, true><<<grid, kThreads, 0, stream>>>(p, seg);
      }
      scan_fwd_kernel<T, kLanes, S, kTile, false><<<grid, kThreads, 0, stream>>>(p, seg);
    }
  };
  dispatch_lanes(tpc, launch);
}
}  // namespace

void selective_scan_fwd_cuda(const SelectiveScanCudaParams& p) {
  check_params(p);
  if (p.batch == 0 || p.dim == 0 || p.seqlen == 0) return;
  const ScanForwardPlan plan = selective_scan_fwd_plan(p);
  if (plan.seg.count > 1 && p.workspace == nullptr)
    throw std::runtime_error("selective_scan (CUDA): this shape needs a forward workspace");
  const auto stream = static_cast<cudaStream_t>(p.stream);
  dispatch_dtype(p.dtype, [&](auto dtype_tag) {
    using T = decltype(dtype_tag);
    if (plan.states_per_lane == 16) launch_scan_fwd<T, 16>(p, plan.seg, stream);
    else if (plan.states_per_lane == 2) launch_scan_fwd<T, 2>(p, plan.seg, stream);
    else launch_scan_fwd<T, 4>(p, plan.seg, stream);
  });
  check_launch("selective_scan forward");
}

void selective_scan_bwd_cuda(const SelectiveScanCudaParams& p, const SelectiveScanCudaGrads& g) {
  check_params(p);
  if (p.dim == 0) return;
  const ScanBackwardSplit split = selective_scan_bwd_split(p);
  const auto stream = static_cast<cudaStream_t>(p.stream);
  if (p.batch == 0) {  // nothing to scan, but the parameter partials must still be written
    const int64_t parts = split.param_partials();
    cudaMemsetAsync(g.dA_part, 0, sizeof(float) * parts * p.dim * p.dstate, stream);
    if (g.dD_part) cudaMemsetAsync(g.dD_part, 0, sizeof(float) * parts * p.dim, stream);
    if (g.ddelta_bias_part) cudaMemsetAsync(g.ddelta_bias_part, 0, sizeof(float) * parts * p.dim, stream);
    check_launch("selective_scan backward");
    return;
  }
  if (split.seg.count > 1 && p.workspace == nullptr)
    throw std::runtime_error("selective_scan (CUDA): this shape needs a backward workspace");
  if (p.batch * ((p.seqlen + kScanChunk - 1) / kScanChunk) >= (int64_t(1) << 31))
    throw std::runtime_error("selective_scan (CUDA): batch x L / 16 must stay under 2^31 for the backward");
  const dim3 grid(static_cast<unsigned>(split.channel_groups), static_cast<unsigned>(split.batch_groups),
                  static_cast<unsigned>(split.seg.count));
  const int tpc = lanes_per_channel(p.dstate, kStates);
  const int sums = selective_scan_bwd_sums(p);
  dispatch_dtype(p.dtype, [&](auto dtype_tag) {
    dispatch_lanes(tpc, [&](auto lanes) {
      using T = decltype(dtype_tag);
      constexpr int kLanes = decltype(lanes)::value;
      if (split.seg.count > 1) {  // the first pass: every segment's own adjoint at its start
        const dim3 summary_grid(static_cast<unsigned>(split.channel_groups), static_cast<unsigned>(p.batch),
                                static_cast<unsigned>(split.seg.count - 1));
        scan_bwd_summary_kernel<T, kLanes, kScanChunk><<<summary_grid, kThreads, 0, stream>>>(p, g, split.seg);
        const int64_t combine_threads = p.batch * p.dim * p.dstate;
        scan_bwd_combine_kernel<<<static_cast<unsigned>((combine_threads + 255) / 256), 256, 0, stream>>>(p, split.seg);
      }
      const auto launch = [&](auto chunk) {
        constexpr int kK = decltype(chunk)::value;
        const auto go = [&](auto* kernel, size_t floats) {
          const size_t smem = sizeof(float) * floats;
          cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
          kernel<<<grid, kThreads, smem, stream>>>(p, g, split.seg);
        };
        // Groups of 4 (spread sums) exist at 4 lanes a channel (d_state 9..16, the usual 16) on full chunks
        // only, to bound the kernels compiled; elsewhere the first warp forms the outputs of groups of 2.
        if constexpr (kLanes == 4 && kK == kScanChunk) {
          if (sums == 4) return go(scan_bwd_kernel<T, kLanes, kK, 4, true>, BackwardSmem<kLanes, kK, 4>::kFloats);
        }
        go(scan_bwd_kernel<T, kLanes, kK, 2, false>, BackwardSmem<kLanes, kK, 2>::kFloats);
      };
      // A sequence that fits one chunk takes the shortest chunk of 8, 12 or 14 steps that covers it, so that the
      // step loop (unrolled over the chunk) does not pay for idle steps: 14 for the 13 tokens of a 12-feature
      // table. Only at 4 lanes a channel (d_state 9..16, the usual 16), to bound the kernels compiled.
      if constexpr (kLanes == 4) {
        if (p.seqlen <= 8) return launch(IntConstant<8>{});
        if (p.seqlen <= 12) return launch(IntConstant<12>{});
        if (p.seqlen <= 14) return launch(IntConstant<14>{});
      }
      launch(IntConstant<kScanChunk>{});
    });
  });
  check_launch("selective_scan backward");
}

void selective_scan_sum_partials_cuda(const ScanPartialSums& s) {
  const int64_t total = 2 * s.batch * s.seqlen * s.dstate + s.dim * s.dstate + 2 * s.dim;
  if (total == 0) return;
  constexpr int kSumThreads = 256;
  const int64_t blocks = std::min<int64_t>((total + kSumThreads - 1) / kSumThreads, int64_t(cuda_sm_count()) * 16);
  dispatch_dtype(s.dtype, [&](auto dtype_tag) {
    sum_partials_kernel<decltype(dtype_tag)>
        <<<static_cast<unsigned>(blocks), kSumThreads, 0, static_cast<cudaStream_t>(s.stream)>>>(s);
  });
  check_launch("selective_scan partial sums");
}

}  // namespace ftmamba::kernels
