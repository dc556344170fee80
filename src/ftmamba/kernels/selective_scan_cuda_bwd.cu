// defines: the fused CUDA selective scan's backward: its summary, combine and main kernels, the sum of its
// partials, and selective_scan_bwd_cuda / selective_scan_sum_partials_cuda (see selective_scan_cuda.h; the
// launch planning is selective_scan_cuda_plan.h).
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
#include <stdexcept>

#include "ftmamba/kernels/selective_scan_cuda_device.cuh"

namespace ftmamba::kernels {
namespace {

constexpr int kThreads = kScanThreads;
constexpr int kStates = kScanBwdStatesPerLane;

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

// First pass of a segmented backward (ScanBackwardSplit): segment blockIdx.z + 1 of batch row blockIdx.y,
// walked backwards from a zero adjoint. Per step and state, the adjoint of h_t gains C_t gy_t (gy: d loss /
// d y before the gate) and then passes to h_{t-1} times exp(dt_t A). Writes the adjoint reached at the
// segment's start (this lane's S states) and the segment's summed time steps, laid out in p.workspace as
// (batch, segments - 1, dim, dstate) adjoints followed by (batch, segments - 1, dim) sums. TPC lanes a channel
// of 4 states each, as the main pass; each tile of TILE steps is staged in shared memory first: (dt, gy) per
// (step, channel), C per (step, state).
template <typename T, int TPC, int TILE>
__global__ void __launch_bounds__(kThreads)
    scan_bwd_summary_kernel(const SelectiveScanCudaParams p, const SelectiveScanCudaGrads g, const ScanSegments seg) {
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
// inputs): 3 blocks an SM, which such a grid does not miss. The layout: scan_bwd_smem
// (selective_scan_cuda_plan.h).

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
// sums spread over the block (see the comment on groups above lane_sum_slot).
// blockIdx.z: the segment (ScanBackwardSplit) whose chunks the block walks; 0 of 1 when L is not split.
template <typename T, int TPC, int K, int G, bool kSpread>
__global__ void __launch_bounds__(kThreads, 4)
    scan_bwd_kernel(const SelectiveScanCudaParams p, const SelectiveScanCudaGrads g, const ScanSegments seg) {
  constexpr ScanBwdSmem kSmem = scan_bwd_smem(TPC, K, G);  // the layout the host sized the launch by
  constexpr int kPad = kSmem.pad, kChannels = kSmem.channels, kTermBlock = kSmem.term_block;
  static_assert(K % G == 0 && K <= kScanChunk, "a chunk is whole groups, at most kScanChunk steps");
  // Threads forming outputs: one per channel (all G steps), or one per (step in group, channel).
  constexpr int kWriters = kSpread ? G * kChannels : kChannels;
  static_assert(kWriters <= kThreads && (kSpread || G == 2), "spread: a (step, channel) row a thread at most");
  extern __shared__ __align__(16) float smem[];
  float* terms = smem;
  float* lane_sums = terms + kSmem.terms;
  float* staged = lane_sums + kSmem.lane_sums;
  float4* step_inputs = reinterpret_cast<float4*>(staged + kSmem.staged);  // (u, dt, gy, d dt / d delta)
  float* dz_factors = staged + kSmem.staged + 4 * K * kChannels;
  T* raw = reinterpret_cast<T*>(staged + kSmem.staged + kSmem.inputs);  // (4, K, kChannels): u, delta, z, dout
  const int channel_in_block = threadIdx.x / TPC;
  const Lane<TPC, kStates> ln(p.dim);
  const int N = static_cast<int>(p.dstate);
  const int64_t L = p.seqlen, dim = p.dim, n_saved = scan_saved_states(L);
  const int L32 = static_cast<int>(L), dim32 = static_cast<int>(dim);
  const int u_ls = static_cast<int>(p.u_l_stride), dl_ls = static_cast<int>(p.delta_l_stride);
  const int z_ls = static_cast<int>(p.z_l_stride), B_ls = static_cast<int>(p.B_l_stride),
            C_ls = static_cast<int>(p.C_l_stride);
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
  const bool async_ok = kSmem.async && kChannels % kPieceElems == 0 && stride_ok(p.dim) && aligned16(p.u) &&
                        aligned16(p.delta) && aligned16(g.dout) && stride_ok(p.u_l_stride) &&
                        stride_ok(p.u_batch_stride) && stride_ok(p.delta_l_stride) && stride_ok(p.delta_batch_stride) &&
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
    for (int r = 0; r < (kSmem.async ? (kPieces + kThreads - 1) / kThreads : 0); ++r) {
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
    __syncthreads();                    // the last group's sums read inputs; the next item restages them
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

// The main pass in the layout the plan chose: l.lanes lanes a channel, chunks of l.chunk steps, groups of
// l.group, l.smem_bytes of dynamic shared memory.
template <typename T, int kLanes>
void launch_scan_bwd_main(const SelectiveScanCudaParams& p, const SelectiveScanCudaGrads& g,
                          const ScanBackwardLaunch& l, cudaStream_t stream) {
  const auto go = [&](auto* kernel) {
    cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(l.smem_bytes));
    kernel<<<to_dim3(l.main), l.threads, static_cast<size_t>(l.smem_bytes), stream>>>(p, g, l.split.seg);
  };
  const auto launch = [&](auto chunk) {
    constexpr int kK = decltype(chunk)::value;
    if constexpr (scan_bwd_compiled(kLanes, kK, 4)) {
      if (l.group == 4) return go(scan_bwd_kernel<T, kLanes, kK, 4, true>);
    }
    if constexpr (scan_bwd_compiled(kLanes, kK, 2)) {
      if (l.group == 2) return go(scan_bwd_kernel<T, kLanes, kK, 2, false>);
    }
    throw std::logic_error("selective_scan (CUDA): no backward kernel for this layout");
  };
  switch (l.chunk) {
    case 8:
      return launch(IntConstant<8>{});
    case 12:
      return launch(IntConstant<12>{});
    case 14:
      return launch(IntConstant<14>{});
    default:
      return launch(IntConstant<kScanChunk>{});
  }
}

}  // namespace

ScanBackwardSplit selective_scan_bwd_split(const SelectiveScanCudaParams& p) {
  return selective_scan_bwd_split(p, cuda_sm_count());
}

int64_t selective_scan_bwd_workspace_floats(const SelectiveScanCudaParams& p) {
  return selective_scan_bwd_workspace_floats(p, cuda_sm_count());
}

int selective_scan_bwd_sums(const SelectiveScanCudaParams& p) { return selective_scan_bwd_sums(p, cuda_sm_count()); }

void selective_scan_bwd_cuda(const SelectiveScanCudaParams& p, const SelectiveScanCudaGrads& g) {
  check_scan_params(p);
  if (p.dim == 0) return;
  const int64_t sms = cuda_sm_count();
  const ScanBackwardSplit split = selective_scan_bwd_split(p, sms);
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
  const ScanBackwardLaunch l = selective_scan_bwd_launch(p, sms);
  dispatch_dtype(p.dtype, [&](auto dtype_tag) {
    dispatch_int<1, 2, 4, 8, 16>(l.lanes, [&](auto lanes) {
      using T = decltype(dtype_tag);
      constexpr int kLanes = decltype(lanes)::value;
      if (l.summary.z > 0) {  // the first pass: every segment's own adjoint at its start
        scan_bwd_summary_kernel<T, kLanes, kScanChunk><<<to_dim3(l.summary), l.threads, 0, stream>>>(p, g, l.split.seg);
        scan_bwd_combine_kernel<<<to_dim3(l.combine), kScanCombineThreads, 0, stream>>>(p, l.split.seg);
      }
      launch_scan_bwd_main<T, kLanes>(p, g, l, stream);
    });
  });
  check_launch("selective_scan backward");
}

void selective_scan_sum_partials_cuda(const ScanPartialSums& s) {
  const ScanSumLaunch l = selective_scan_sum_partials_launch(s, cuda_sm_count());
  if (l.total == 0) return;
  dispatch_dtype(s.dtype, [&](auto dtype_tag) {
    sum_partials_kernel<decltype(dtype_tag)><<<to_dim3(l.grid), l.threads, 0, static_cast<cudaStream_t>(s.stream)>>>(s);
  });
  check_launch("selective_scan partial sums");
}

}  // namespace ftmamba::kernels
