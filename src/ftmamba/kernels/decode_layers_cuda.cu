// defines: the decode step's Mamba layers in one resident kernel (see decode_layers_cuda.h).
//
// The grid is one block of 16 warps an SM. Block k owns d_inner's channels [c0, c0 + channels) in 16-byte groups
// (8 bf16 or 4 float, so that every slice of a row is whole chunks) and d_model's rows [r0, r0 + rows) of out_proj.
// Its weights, layer after layer, are four segments of whole rows: in_proj's x rows and z rows of its channels, the
// columns of its channels in x_proj (a row of `channels` elements from each of x_proj's rows), and its rows of
// out_proj. They pass through a ring of kRingSlots tiles of kDecodeLayersTileBytes in shared memory: every thread
// copies its share of a tile with cp.async, kRingSlots tiles ahead of the tile the block computes on, and the next
// tile goes in as soon as one is used. What one block writes and another reads (x_dbl's sums, y, delta, the residual)
// is read with ld.global.cg, past the SM's own L1, which the barrier does not clean.
#include <algorithm>
#include <string>

#include "ftmamba/kernels/block_sum.cuh"
#include "ftmamba/kernels/causal_conv1d_cuda.h"
#include "ftmamba/kernels/conv_window.cuh"
#include "ftmamba/kernels/cuda_common.cuh"
#include "ftmamba/kernels/decode_layers_cuda.h"
#include "ftmamba/kernels/packed_chunk.cuh"

namespace ftmamba::kernels {
namespace {

constexpr int kWarps = 16;
constexpr int kThreads = kWarps * 32;
constexpr int kRingSlots = 8;  // tiles in flight: 128 KiB an SM, ~17 MB over an H100's 132 SMs
constexpr int64_t kTile = kDecodeLayersTileBytes;
constexpr int kN = static_cast<int>(kDecodeLayersStateSize);
constexpr int kRankPerLane = static_cast<int>(kDecodeLayersMaxRank / kDecodeLayersStateSize);
// x_proj's shares are added as integers of 2^-30: exact and order-free. A share of 2^24 or more is taken as overflow
// (at most 2^54 a share, and the sum of 256 shares stays inside an int64).
constexpr float kFixedScale = 1073741824.f;  // 2^30
constexpr float kFixedLimit = 16777216.f;    // 2^24

// A load past the SM's L1 (ld.global.cg), for what other blocks wrote: float, or a 16-bit type by its bits.
template <typename T>
__device__ __forceinline__ T load_shared_by_blocks(const T* p) {
  if constexpr (sizeof(T) == sizeof(float)) {
    return __ldcg(p);
  } else {
    const unsigned short bits = __ldcg(reinterpret_cast<const unsigned short*>(p));
    T v;
    memcpy(&v, &bits, sizeof(v));
    return v;
  }
}

// Marks a block writes: the start, an arrival and an exit for each barrier (kDecodeLayersPhases a layer, less the
// last layer's), the end.
__host__ __device__ __forceinline__ int64_t decode_layers_phase_marks_device(int64_t n_layers) {
  return 2 * (kDecodeLayersPhases * n_layers - 1) + 2;
}

// Asks for the lines of [p, p + bytes) to be brought into L2, without waiting: the small parameters a phase reads
// first, so that it finds them there instead of in DRAM.
__device__ __forceinline__ void prefetch_l2(const void* p, int64_t bytes) {
  const char* c = static_cast<const char*>(p);
  for (int64_t off = int64_t(threadIdx.x) * 128; off < bytes; off += int64_t(kThreads) * 128)
    asm volatile("prefetch.global.L2 [%0];" ::"l"(c + off));
}

__device__ __forceinline__ unsigned load_acquire(const unsigned* p) {
  unsigned v;
  asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
  return v;
}

// Mark `k` of the block's profile (DecodeLayersCudaParams::phase_clock), when there is one: the GPU's clock in ns.
__device__ __forceinline__ void phase_mark(const DecodeLayersCudaParams& p, int64_t k) {
  if (p.phase_clock && threadIdx.x == 0) {
    unsigned long long now;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
    p.phase_clock[blockIdx.x * decode_layers_phase_marks_device(p.n_layers) + k] = now;
  }
}

// Every block of the grid arrives before any leaves; what each wrote before is then visible to all (read with
// load_shared_by_blocks). The counter only grows: the k-th barrier waits for k * gridDim.x arrivals.
__device__ __forceinline__ void grid_barrier(const DecodeLayersCudaParams& p, unsigned& target) {
  unsigned* counter = p.barrier;
  target += gridDim.x;
  __syncthreads();
  phase_mark(p, 2 * (target / gridDim.x) - 1);
  if (threadIdx.x == 0) {
    __threadfence();
    atomicAdd(counter, 1u);
    while (load_acquire(counter) < target) {
    }
  }
  __syncthreads();
  phase_mark(p, 2 * (target / gridDim.x));
}

// Sum over the 16 lanes of a half-warp (both halves of the warp call it together).
__device__ __forceinline__ float half_warp_sum(float v) {
  for (int offset = 8; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

// Copies into shared memory that run beside the block's own loads. On sm_90 the tensor memory accelerator's bulk
// copies (cp.async.bulk), which report to an mbarrier and leave the SM's load queues to the loads on the critical
// path; before sm_90, cp.async, 16 bytes a thread, in commit groups.
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
constexpr bool kBulkCopies = true;
#else
constexpr bool kBulkCopies = false;
#endif

__device__ __forceinline__ unsigned shared_address(const void* p) {
  return static_cast<unsigned>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ void cp_async16(void* shared_dst, const void* global_src) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(shared_address(shared_dst)), "l"(global_src)
               : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }
template <int Pending>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;" ::"n"(Pending) : "memory");
}

// An mbarrier that one arrival (with the bytes to expect) and the bulk copies' bytes complete (sm_90).
__device__ __forceinline__ void barrier_init(unsigned long long* bar) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;" ::"r"(shared_address(bar)) : "memory");
  asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
#else
  (void)bar;
#endif
}
__device__ __forceinline__ void barrier_expect_bytes(unsigned long long* bar, unsigned bytes) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(shared_address(bar)), "r"(bytes)
               : "memory");
#else
  (void)bar, (void)bytes;
#endif
}
__device__ __forceinline__ void bulk_copy(void* shared_dst, const void* global_src, unsigned bytes,
                                          unsigned long long* bar) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];" ::"r"(
                   shared_address(shared_dst)),
               "l"(global_src), "r"(bytes), "r"(shared_address(bar))
               : "memory");
#else
  (void)shared_dst, (void)global_src, (void)bytes, (void)bar;
#endif
}
// Waits for the barrier's phase of this parity to complete.
__device__ __forceinline__ void barrier_wait(unsigned long long* bar, unsigned parity) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  unsigned done = 0;
  while (!done)
    asm volatile(
        "{\n.reg .pred ready;\nmbarrier.try_wait.parity.shared::cta.b64 ready, [%1], %2;\nselp.u32 %0, 1, 0, "
        "ready;\n}"
        : "=r"(done)
        : "r"(shared_address(bar)), "r"(parity)
        : "memory");
#else
  (void)bar, (void)parity;
#endif
}

// The block's share of every layer: channels [c0, c0 + channels) and out_proj's rows [r0, r0 + rows).
struct Slice {
  int64_t c0 = 0, channels = 0, r0 = 0, rows = 0;
};

template <typename T>
__device__ __forceinline__ Slice block_slice(const DecodeLayersCudaParams& p) {
  constexpr int64_t E = kChunkElements<T>;
  const int64_t groups = p.d_inner / E, k = blockIdx.x, g = gridDim.x;
  Slice s;
  s.c0 = k * groups / g * E;
  s.channels = (k + 1) * groups / g * E - s.c0;
  s.r0 = k * p.d_model / g;
  s.rows = (k + 1) * p.d_model / g - s.r0;
  return s;
}

// The segments of a layer's weights that the block reads, in the order it uses them.
enum Segment : int { kInX = 0, kInZ, kXProj, kOutProj, kSegments };

// Rows of row_bytes each, stride bytes apart from src; row_bytes a multiple of 16 and at most a tile.
struct Rows {
  const char* src = nullptr;
  int64_t count = 0, row_bytes = 0, stride = 0;
  __device__ int64_t per_tile() const { return row_bytes > 0 ? kTile / row_bytes : 1; }
};

template <typename T>
__device__ __forceinline__ Rows segment_rows(const DecodeLayersCudaParams& p, const Slice& s, int64_t layer,
                                             int segment) {
  constexpr int64_t e = sizeof(T);
  const DecodeLayerPointers& L = p.layers[layer];
  const int64_t di = p.d_inner, dm = p.d_model;
  Rows r;
  switch (segment) {
    case kInX:
      r = {static_cast<const char*>(L.in_proj) + s.c0 * dm * e, s.channels, dm * e, dm * e};
      break;
    case kInZ:
      r = {static_cast<const char*>(L.in_proj) + (di + s.c0) * dm * e, s.channels, dm * e, dm * e};
      break;
    case kXProj:
      r = {static_cast<const char*>(L.x_proj) + s.c0 * e, s.channels > 0 ? p.rank + 2 * kN : 0, s.channels * e, di * e};
      break;
    default:
      r = {static_cast<const char*>(L.out_proj) + s.r0 * di * e, s.rows, di * e, di * e};
      break;
  }
  return r;
}

// The ring of tiles. Tiles are numbered in the order the block uses them (layer by layer, segment by segment, rows
// in order); tile t sits in slot t % kRingSlots. With bulk copies, the first warp copies a tile in (one copy for
// contiguous rows, a copy a row for x_proj's columns) and the slot's mbarrier completes with its bytes: the tile's
// (t / kRingSlots)-th phase. With cp.async, each thread commits one group a tile (empty past the last tile), so that
// waiting for all but the kRingSlots - 1 newest groups is waiting for the oldest tile.
template <typename T>
struct Ring {
  char* slots = nullptr;
  unsigned long long* full = nullptr;  // the slots' mbarriers (bulk copies)
  int64_t used = 0;                    // tiles used so far: the next is in slot used % kRingSlots
  // The next tile to copy in: its layer, segment and first row.
  int64_t layer = 0, row = 0;
  int segment = 0;

  // Copies the next tile into `slot`, or nothing past the last.
  __device__ void copy_next(const DecodeLayersCudaParams& p, const Slice& s, int slot) {
    char* dst = slots + slot * kTile;
    while (layer < p.n_layers) {
      const Rows r = segment_rows<T>(p, s, layer, segment);
      if (row < r.count) {
        const int64_t n = min(r.per_tile(), r.count - row);
        const char* src = r.src + row * r.stride;
        if constexpr (kBulkCopies) {
          if (threadIdx.x < 32) {
            if (threadIdx.x == 0) barrier_expect_bytes(full + slot, static_cast<unsigned>(n * r.row_bytes));
            __syncwarp();
            if (r.stride == r.row_bytes) {
              if (threadIdx.x == 0) bulk_copy(dst, src, static_cast<unsigned>(n * r.row_bytes), full + slot);
            } else {
              for (int64_t i = threadIdx.x; i < n; i += 32)
                bulk_copy(dst + i * r.row_bytes, src + i * r.stride, static_cast<unsigned>(r.row_bytes), full + slot);
            }
          }
        } else {
          const int64_t chunks = r.row_bytes / 16;
          for (int64_t j = threadIdx.x; j < n * chunks; j += kThreads) {
            const int64_t i = j / chunks, c = j - i * chunks;
            cp_async16(dst + j * 16, src + i * r.stride + c * 16);
          }
        }
        row += n;
        break;
      }
      row = 0;
      if (++segment == kSegments) segment = 0, ++layer;
    }
    if constexpr (!kBulkCopies) cp_async_commit();
  }

  __device__ void start(const DecodeLayersCudaParams& p, const Slice& s) {
    if constexpr (kBulkCopies) {
      if (threadIdx.x < kRingSlots) barrier_init(full + threadIdx.x);
      __syncthreads();
    }
    for (int k = 0; k < kRingSlots; ++k) copy_next(p, s, k);
  }
  // The next tile, once it has landed.
  __device__ const char* acquire() {
    const int slot = static_cast<int>(used % kRingSlots);
    if constexpr (kBulkCopies) {
      barrier_wait(full + slot, static_cast<unsigned>((used / kRingSlots) & 1));
    } else {
      cp_async_wait<kRingSlots - 1>();
      __syncthreads();
    }
    return slots + slot * kTile;
  }
  // The tile is used: its slot takes the tile kRingSlots further on.
  __device__ void release(const DecodeLayersCudaParams& p, const Slice& s) {
    __syncthreads();
    copy_next(p, s, static_cast<int>(used % kRingSlots));
    ++used;
  }
};

// acc[b] = sum_c row[c] xs[b * in + c] over the warp's lanes (row in shared memory, `in` elements), summed over the
// warp: every lane gets the sums.
template <typename T>
__device__ __forceinline__ void warp_row_dot(const char* row, const T* xs, int64_t in, int batch, int lane,
                                             float (&acc)[kDecodeLayersMaxBatch]) {
  constexpr int E = kChunkElements<T>;
#pragma unroll
  for (int b = 0; b < kDecodeLayersMaxBatch; ++b) acc[b] = 0.f;
  const uint4* w = reinterpret_cast<const uint4*>(row);
  for (int64_t c = lane; c < in / E; c += 32) {
    float f[E];
    unpack<T>(w[c], f);
#pragma unroll
    for (int b = 0; b < kDecodeLayersMaxBatch; ++b) {
      if (b >= batch) break;
      float x[E];
      unpack<T>(*reinterpret_cast<const uint4*>(xs + b * in + c * E), x);
#pragma unroll
      for (int k = 0; k < E; ++k) acc[b] += f[k] * x[k];
    }
  }
#pragma unroll
  for (int b = 0; b < kDecodeLayersMaxBatch; ++b) acc[b] = warp_sum(acc[b]);
}

// out[b * out_stride + first + r] = the segment's rows dotted with xs (batch, in), tile by tile from the ring.
// Round(s) gives what is stored for a sum s.
template <typename T, typename Store>
__device__ __forceinline__ void rows_times(Ring<T>& ring, const DecodeLayersCudaParams& p, const Slice& s,
                                           const Rows& rows, const T* xs, int64_t in, Store store) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, batch = static_cast<int>(p.batch);
  for (int64_t first = 0; first < rows.count; first += rows.per_tile()) {
    const char* tile = ring.acquire();
    const int64_t n = min(rows.per_tile(), rows.count - first);
    for (int64_t r = warp; r < n; r += kWarps) {
      float acc[kDecodeLayersMaxBatch];
      warp_row_dot<T>(tile + r * rows.row_bytes, xs, in, batch, lane, acc);
      if (lane == 0)
        for (int b = 0; b < batch; ++b) store(b, first + r, acc[b]);
    }
    ring.release(p, s);
  }
}

// xs (batch, d_model) <- rms_norm(residual + delta) * norm_weight, rounded to T; block 0 keeps residual + delta for
// the next layer. `sum` holds residual + delta, (batch, d_model) floats in shared memory, between the two passes.
template <typename T>
__device__ __forceinline__ void add_rms_norm_into(const DecodeLayersCudaParams& p, const DecodeLayerPointers& L,
                                                  int64_t layer, T* xs, float* sum, float* scratch) {
  const int64_t d = p.d_model;
  const float* in = p.residual + (layer % 2) * p.batch * d;
  float* out = p.residual + ((layer + 1) % 2) * p.batch * d;
  const T* delta = layer > 0 ? static_cast<const T*>(p.delta) : nullptr;
  for (int64_t j = threadIdx.x; j < p.batch * d; j += kThreads) {
    const float x = load_shared_by_blocks(in + j);
    const float v = delta ? x + to_float(load_shared_by_blocks(delta + j)) : x;
    sum[j] = v;
    if (blockIdx.x == 0) out[j] = v;
  }
  for (int64_t b = 0; b < p.batch; ++b) {
    float sumsq = 0.f;
    for (int64_t j = threadIdx.x; j < d; j += kThreads) sumsq += sum[b * d + j] * sum[b * d + j];
    const float inv_rms = rsqrtf(block_sum<kWarps>(sumsq, scratch) / static_cast<float>(d) + L.eps);
    for (int64_t j = threadIdx.x; j < d; j += kThreads)
      xs[b * d + j] = from_float<T>(sum[b * d + j] * inv_rms * L.norm_weight[j]);
  }
}

// A block's share s of one of x_proj's outputs, added into the layer's fixed-point sum.
__device__ __forceinline__ void add_share(unsigned long long* sum, unsigned* overflow, float s) {
  if (!(fabsf(s) < kFixedLimit)) {  // a NaN fails the comparison too
    atomicOr(overflow, 1u);
    return;
  }
  atomicAdd(sum, static_cast<unsigned long long>(__float2ll_rn(s * kFixedScale)));
}

__device__ __forceinline__ float read_sum(const unsigned long long* sum, const unsigned* overflow) {
  if (__ldcg(overflow)) return __int_as_float(0x7fc00000);  // NaN
  return __ll2float_rn(static_cast<long long>(__ldcg(sum))) * (1.f / kFixedScale);
}

// The SSM step's per-channel inputs that do not wait for x_proj, read before the barrier that precedes the step.
struct Channel {
  float h = 0.f, neg_a = 0.f, dt_bias = 0.f, D = 0.f;
  float dt_w[kRankPerLane] = {};
};

template <typename T>
__device__ __forceinline__ Channel channel_inputs(const DecodeLayersCudaParams& p, const DecodeLayerPointers& L,
                                                  int64_t b, int64_t c, int lane16) {
  Channel ch;
  ch.h = L.ssm_state[(b * p.d_inner + c) * kN + lane16];
  ch.neg_a = __expf(L.A_log[c * kN + lane16]);
  ch.dt_bias = L.dt_bias[c];
  ch.D = L.D[c];
  const T* dt_w = static_cast<const T*>(L.dt_proj) + c * p.rank;
#pragma unroll
  for (int t = 0; t < kRankPerLane; ++t)
    if (lane16 + 16 * t < p.rank) ch.dt_w[t] = to_float(__ldg(dt_w + lane16 + 16 * t));
  return ch;
}

template <typename T, int W>
__global__ void __launch_bounds__(kThreads, 1) decode_layers_kernel(const DecodeLayersCudaParams p) {
  extern __shared__ __align__(16) unsigned char shared[];
  __shared__ float scratch[kWarps];
  const int64_t di = p.d_inner, dm = p.d_model, dbl_width = p.rank + 2 * kN;
  const Slice s = block_slice<T>(p);
  // Shared memory: the ring, xs (batch, max(d_model, d_inner)) in T (the norm's output, then y), `sum` (batch,
  // d_model), xz (batch, 2, channels) and x (batch, channels) of the block's channels, dbl (batch, rank + 2N).
  __shared__ __align__(8) unsigned long long ring_full[kRingSlots];
  Ring<T> ring;
  ring.slots = reinterpret_cast<char*>(shared);
  ring.full = ring_full;
  T* xs = reinterpret_cast<T*>(shared + kRingSlots * kTile);
  float* sum = reinterpret_cast<float*>(xs + p.batch * max(dm, di));
  float* xz = sum + p.batch * dm;
  float* x = xz + p.batch * 2 * s.channels;
  float* dbl = x + p.batch * s.channels;
  const int lane = threadIdx.x % 32, lane16 = lane % 16, half_warp = threadIdx.x / 16;
  // Items of the SSM step: (batch row, channel) pairs of the block's channels, a half-warp each. The count is even,
  // so both halves of a warp have one or neither.
  const int64_t items = p.batch * s.channels;
  unsigned target = 0;
  phase_mark(p, 0);
  ring.start(p, s);
  for (int64_t layer = 0; layer < p.n_layers; ++layer) {
    const DecodeLayerPointers& L = p.layers[layer];
    unsigned long long* dbl_sum = p.x_dbl_sum + (layer % 2) * p.batch * dbl_width;
    unsigned* dbl_overflow = p.x_dbl_overflow + (layer % 2) * p.batch * dbl_width;
    prefetch_l2(L.conv_weight + s.c0 * W, s.channels * W * int64_t(sizeof(float)));
    for (int64_t b = 0; b < p.batch; ++b) {
      for (int k = 0; k + 1 < W; ++k)
        prefetch_l2(static_cast<const T*>(L.conv_state) + (b * (W - 1) + k) * di + s.c0,
                    s.channels * int64_t(sizeof(T)));
      prefetch_l2(L.ssm_state + (b * di + s.c0) * kN, s.channels * kN * int64_t(sizeof(float)));
    }
    prefetch_l2(L.A_log + s.c0 * kN, s.channels * kN * int64_t(sizeof(float)));
    prefetch_l2(static_cast<const T*>(L.dt_proj) + s.c0 * p.rank, s.channels * p.rank * int64_t(sizeof(T)));
    // A: the norm; in_proj's rows of the block's channels; the conv; their share of x_proj.
    add_rms_norm_into<T>(p, L, layer, xs, sum, scratch);
    __syncthreads();
    for (int part = 0; part < 2; ++part)
      rows_times<T>(
          ring, p, s, segment_rows<T>(p, s, layer, part == 0 ? kInX : kInZ), xs, dm,
          [&](int b, int64_t r, float v) { xz[(b * 2 + part) * s.channels + r] = to_float(from_float<T>(v)); });
    for (int64_t i = threadIdx.x; i < items; i += kThreads) {
      const int64_t b = i / s.channels, k = i % s.channels, c = s.c0 + k;
      const T newest = from_float<T>(xz[b * 2 * s.channels + k]);
      T* window = static_cast<T*>(L.conv_state) + b * (W - 1) * di + c;
      x[i] = to_float(from_float<T>(conv_window_silu<T, W>(window, di, newest, L.conv_weight, L.conv_bias, c)));
      advance_window<T, W>(window, di, newest);
    }
    __syncthreads();
    const Rows x_rows = segment_rows<T>(p, s, layer, kXProj);
    for (int64_t first = 0; first < x_rows.count; first += x_rows.per_tile()) {
      const char* tile = ring.acquire();
      const int64_t n = min(x_rows.per_tile(), x_rows.count - first);
      for (int64_t j = threadIdx.x; j < n * p.batch; j += kThreads) {
        const int64_t r = j / p.batch, b = j % p.batch;
        const T* w = reinterpret_cast<const T*>(tile + r * x_rows.row_bytes);
        float share = 0.f;
        for (int64_t k = 0; k < s.channels; ++k) share += to_float(w[k]) * x[b * s.channels + k];
        add_share(dbl_sum + b * dbl_width + first + r, dbl_overflow + b * dbl_width + first + r, share);
      }
      ring.release(p, s);
    }
    // The other buffer of x_proj's sums was last read in the previous layer; it is next added to in the next.
    if (blockIdx.x == 0)
      for (int64_t i = threadIdx.x; i < p.batch * dbl_width; i += kThreads) {
        p.x_dbl_sum[((layer + 1) % 2) * p.batch * dbl_width + i] = 0;
        p.x_dbl_overflow[((layer + 1) % 2) * p.batch * dbl_width + i] = 0;
      }
    Channel first;
    if (half_warp < items)
      first = channel_inputs<T>(p, L, half_warp / s.channels, s.c0 + half_warp % s.channels, lane16);
    grid_barrier(p, target);
    // B: the SSM step over the block's channels.
    for (int64_t i = threadIdx.x; i < p.batch * dbl_width; i += kThreads)
      dbl[i] = to_float(from_float<T>(read_sum(dbl_sum + i, dbl_overflow + i)));
    __syncthreads();
    for (int64_t item = half_warp; item < items; item += kThreads / 16) {
      const int64_t b = item / s.channels, k = item % s.channels, c = s.c0 + k;
      const Channel ch = item == half_warp ? first : channel_inputs<T>(p, L, b, c, lane16);
      const float* row = dbl + b * dbl_width;
      float dot = 0.f;
#pragma unroll
      for (int t = 0; t < kRankPerLane; ++t)
        if (lane16 + 16 * t < p.rank) dot += ch.dt_w[t] * row[lane16 + 16 * t];
      const float dt = softplusf(ch.dt_bias + half_warp_sum(dot));
      const float xv = x[b * s.channels + k];
      const float h = __expf(-ch.neg_a * dt) * ch.h + dt * xv * row[p.rank + lane16];
      L.ssm_state[(b * di + c) * kN + lane16] = h;
      const float y = half_warp_sum(h * row[p.rank + kN + lane16]) + ch.D * xv;
      if (lane16 == 0) {
        const float z = xz[(b * 2 + 1) * s.channels + k];
        static_cast<T*>(p.y)[b * di + c] = from_float<T>(y * z * sigmoidf(z));
      }
    }
    grid_barrier(p, target);
    // C: the block's rows of out_proj into delta.
    for (int64_t i = threadIdx.x; i < p.batch * di; i += kThreads)
      xs[i] = load_shared_by_blocks(static_cast<const T*>(p.y) + i);
    __syncthreads();
    if (layer + 1 < p.n_layers) prefetch_l2(p.layers[layer + 1].norm_weight, dm * int64_t(sizeof(float)));
    rows_times<T>(ring, p, s, segment_rows<T>(p, s, layer, kOutProj), xs, di,
                  [&](int b, int64_t r, float v) { static_cast<T*>(p.delta)[b * dm + s.r0 + r] = from_float<T>(v); });
    if (layer + 1 < p.n_layers) grid_barrier(p, target);
  }
  if constexpr (!kBulkCopies) cp_async_wait<0>();
  __syncthreads();
  phase_mark(p, 2 * (target / gridDim.x) + 1);
}

// The most channels a block owns (whole groups of a 16-byte chunk's elements).
int64_t max_channels(int64_t d_inner, int64_t element_bytes, int64_t blocks) {
  const int64_t per_group = 16 / element_bytes, groups = d_inner / per_group;
  return (groups + blocks - 1) / blocks * per_group;
}

// Dynamic shared memory: the ring, xs in T, then sum, xz, x and dbl as floats.
size_t shared_bytes(int64_t batch, int64_t d_model, int64_t d_inner, int64_t rank, int64_t element_bytes,
                    int64_t blocks) {
  const int64_t channels = max_channels(d_inner, element_bytes, blocks);
  const int64_t xs = (batch * std::max(d_model, d_inner) * element_bytes + 15) / 16 * 16;
  const int64_t floats = batch * (d_model + 3 * channels + rank + 2 * kDecodeLayersStateSize);
  return static_cast<size_t>(kRingSlots * kTile + xs + floats * int64_t(sizeof(float)));
}

// The dynamic shared memory a block may ask for on the current device: its opt-in limit (227 KiB on sm_90, 163 on
// sm_80) less the kernel's static share.
size_t max_shared_bytes() {
  int device = 0, opt_in = 0;
  if (cudaGetDevice(&device) != cudaSuccess ||
      cudaDeviceGetAttribute(&opt_in, cudaDevAttrMaxSharedMemoryPerBlockOptin, device) != cudaSuccess)
    return 0;
  return opt_in > 1024 ? static_cast<size_t>(opt_in - 1024) : 0;
}

template <typename T, int W>
cudaError_t launch(const DecodeLayersCudaParams& p, size_t shared) {
  auto* kernel = decode_layers_kernel<T, W>;
  const cudaError_t opt_in =
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(shared));
  if (opt_in != cudaSuccess) return opt_in;
  int per_sm = 0;
  const cudaError_t occupancy = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kThreads, shared);
  if (occupancy != cudaSuccess) return occupancy;
  if (per_sm < 1) return cudaErrorCooperativeLaunchTooLarge;
  // One block an SM, all resident at once: the cooperative launch guarantees it (the barriers need it).
  cudaLaunchConfig_t config = {};
  config.gridDim = dim3(static_cast<unsigned>(cuda_sm_count()));
  config.blockDim = dim3(kThreads);
  config.dynamicSmemBytes = shared;
  config.stream = static_cast<cudaStream_t>(p.stream);
  cudaLaunchAttribute attribute[1];
  attribute[0].id = cudaLaunchAttributeCooperative;
  attribute[0].val.cooperative = 1;
  config.attrs = attribute;
  config.numAttrs = 1;
  return cudaLaunchKernelEx(&config, kernel, p);
}

}  // namespace

int64_t decode_layers_blocks() { return cuda_sm_count(); }

int64_t decode_layers_phase_marks(int64_t n_layers) { return decode_layers_phase_marks_device(n_layers); }

bool decode_layers_takes(int64_t batch, int64_t n_layers, int64_t d_model, int64_t d_inner, int64_t rank,
                         int64_t d_state, int64_t conv_width, int64_t element_bytes) {
  if (element_bytes != 2 && element_bytes != 4) return false;
  const int64_t row_unit = 32 * (16 / element_bytes);  // a chunk for each lane
  return batch >= 1 && batch <= kDecodeLayersMaxBatch && n_layers >= 1 && n_layers <= kDecodeLayersMaxLayers &&
         d_model % row_unit == 0 && d_inner % row_unit == 0 && d_model * element_bytes <= kDecodeLayersTileBytes &&
         d_inner * element_bytes <= kDecodeLayersTileBytes && rank >= 1 && rank <= kDecodeLayersMaxRank &&
         d_state == kDecodeLayersStateSize && conv_width >= 1 && conv_width <= kConvMaxWidth &&
         shared_bytes(batch, d_model, d_inner, rank, element_bytes, decode_layers_blocks()) <= max_shared_bytes();
}

void decode_layers_cuda(const DecodeLayersCudaParams& p) {
  const int64_t bytes = p.dtype == CudaDtype::kFloat32 ? 4 : 2;
  if (!decode_layers_takes(p.batch, p.n_layers, p.d_model, p.d_inner, p.rank, kDecodeLayersStateSize, p.conv_width,
                           bytes))
    throw std::runtime_error("decode layers: batch " + std::to_string(p.batch) + ", " + std::to_string(p.n_layers) +
                             " layers of d_model " + std::to_string(p.d_model) + " and d_inner " +
                             std::to_string(p.d_inner) + " are outside what the kernel takes");
  const size_t shared = shared_bytes(p.batch, p.d_model, p.d_inner, p.rank, bytes, decode_layers_blocks());
  cudaError_t e = cudaSuccess;
  dispatch_dtype(p.dtype, [&](auto dtype_tag) {
    dispatch_int<1, 2, 3, 4>(p.conv_width,
                             [&](auto width) { e = launch<decltype(dtype_tag), decltype(width)::value>(p, shared); });
  });
  if (e != cudaSuccess) throw std::runtime_error(std::string("decode layers: ") + cudaGetErrorString(e));
}

}  // namespace ftmamba::kernels
