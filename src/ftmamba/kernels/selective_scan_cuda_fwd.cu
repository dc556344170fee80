// defines: the fused CUDA selective scan's forward: scan_fwd_kernel and selective_scan_fwd_cuda (see
// selective_scan_cuda.h; the launch planning is selective_scan_cuda_plan.h).
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
#include <stdexcept>

#include "ftmamba/kernels/selective_scan_cuda_device.cuh"

namespace ftmamba::kernels {
namespace {

constexpr int kThreads = kScanThreads;

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
  constexpr int kPad = TPC * S;                                     // states per channel, padded
  constexpr int kChannels = kThreads / TPC;                         // channels per block
  constexpr int kItems = TILE / TPC;                                // (step, channel) loads a thread, a tile
  constexpr int kBC = (2 * TILE * kPad + kThreads - 1) / kThreads;  // B / C loads a thread, a tile
  constexpr bool kOwnLane = TPC == 1;
  constexpr bool kShares = !kOwnLane && !kSummary;  // lanes park output shares for the loader to sum
  static_assert(!kVec || (kShares && TPC == 4 && TILE == 16 && kItems == 4), "kVec: the LM layout's main pass");
  // Dimensions from scan_fwd_smem (selective_scan_cuda_plan.h), which the host plans with.
  constexpr ScanFwdSmem kSmem = scan_fwd_smem(TPC, S, TILE, kSummary);
  static_assert(kSmem.pad == kPad && kSmem.channels == kChannels && kSmem.tile == TILE, "the plan's layout");
  __shared__ __align__(16) float staged[2][kSmem.tile][kSmem.pad];  // B (0) and C (1) of the tile's steps
  // Several lanes a channel: (dt, dt u) per (step, channel), and each lane's share of the output: TPC floats
  // a channel, in slot share_slot(channel) of the step's row.
  __shared__ __align__(16) float2 step_dt[kSmem.dt_rows][kSmem.dt_cols];
  __shared__ __align__(16) float y_share[kSmem.share_rows][kSmem.share_cols];
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
        raw_bc[j] =
            bc_step[j] < t_end - t0 ? __ldg((staging_at_or_past<TILE * kPad>(j) ? C_next : B_next) + bc_off[j]) : zero;
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
          if constexpr (kVec)
            dt_pair[j] = d;  // stored below, two channels a 16-byte store
          else
            step_dt[k][ld_c] = d;
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

// Launches the summary pass (when segmented) and the main pass of the forward at S states a lane, in the
// layout the plan chose (l.lanes lanes a channel, tiles of scan_fwd_tile steps).
template <typename T, int S>
void launch_scan_fwd(const SelectiveScanCudaParams& p, const ScanForwardLaunch& l, cudaStream_t stream) {
  const auto launch = [&](auto lanes) {
    constexpr int kLanes = decltype(lanes)::value;
    constexpr int kTile = scan_fwd_tile(S, kLanes);
    if constexpr (scan_fwd_compiled(S, kLanes)) {
      if (l.summary.z > 0)
        scan_fwd_kernel<T, kLanes, S, kTile, true><<<to_dim3(l.summary), l.threads, 0, stream>>>(p, l.plan.seg);
      if constexpr (S == 4 && kLanes == 4) {
        if (l.vec_loads)
          return scan_fwd_kernel<T, 4, 4, kTile, false, true><<<to_dim3(l.main), l.threads, 0, stream>>>(p, l.plan.seg);
      }
      scan_fwd_kernel<T, kLanes, S, kTile, false><<<to_dim3(l.main), l.threads, 0, stream>>>(p, l.plan.seg);
    } else {
      throw std::logic_error("selective_scan (CUDA): no forward kernel for this layout");
    }
  };
  dispatch_int<1, 2, 4, 8, 16>(l.lanes, launch);
}

}  // namespace

ScanForwardPlan selective_scan_fwd_plan(const SelectiveScanCudaParams& p) {
  return selective_scan_fwd_plan(p, cuda_sm_count());
}

int64_t selective_scan_fwd_workspace_floats(const SelectiveScanCudaParams& p) {
  return selective_scan_fwd_workspace_floats(p, cuda_sm_count());
}

void selective_scan_fwd_cuda(const SelectiveScanCudaParams& p) {
  check_scan_params(p);
  if (p.batch == 0 || p.dim == 0 || p.seqlen == 0) return;
  const ScanForwardLaunch l = selective_scan_fwd_launch(p, cuda_sm_count());
  if (l.plan.seg.count > 1 && p.workspace == nullptr)
    throw std::runtime_error("selective_scan (CUDA): this shape needs a forward workspace");
  const auto stream = static_cast<cudaStream_t>(p.stream);
  dispatch_dtype(p.dtype, [&](auto dtype_tag) {
    using T = decltype(dtype_tag);
    if (l.plan.states_per_lane == 16)
      launch_scan_fwd<T, 16>(p, l, stream);
    else if (l.plan.states_per_lane == 2)
      launch_scan_fwd<T, 2>(p, l, stream);
    else
      launch_scan_fwd<T, 4>(p, l, stream);
  });
  check_launch("selective_scan forward");
}

}  // namespace ftmamba::kernels
