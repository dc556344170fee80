// defines: the decode step's Mamba layers in one resident kernel (see decode_layers_cuda.h).
//
// A block is 16 warps of arithmetic and one that streams weights. The streaming warp's first lane copies the block's
// rows of in_proj (its channels' x rows, then their z rows) and of out_proj, layer after layer, into a ring of
// shared-memory slots with bulk asynchronous copies (cp.async.bulk), each slot with two mbarriers: `full` (the copy
// has landed) and `empty` (every arithmetic warp is done with it). A slot holds whole rows. The arithmetic warps read
// the slots in the same order. What one block writes and another reads (y, delta, the residual, x_dbl's sum) is
// read with ld.global.cg, past the SM's own L1, which the barrier does not clean.
#include <algorithm>
#include <string>

#include "ftmamba/kernels/block_sum.cuh"
#include "ftmamba/kernels/causal_conv1d_cuda.h"
#include "ftmamba/kernels/cuda_common.cuh"
#include "ftmamba/kernels/decode_layers_cuda.h"
#include "ftmamba/kernels/packed_chunk.cuh"

namespace ftmamba::kernels {
namespace {

constexpr int kWarps = 16;                    // the arithmetic warps
constexpr int kThreads = kWarps * 32;         // ... and their threads, which the named barrier 1 joins
constexpr int kBlockThreads = kThreads + 32;  // and the streaming warp
// One block an SM: its threads share the SM's 64 Ki registers (in steps of 8 a thread).
constexpr int kMaxRegisters = 65536 / kBlockThreads / 8 * 8;
constexpr int kRingSlots = 4;
constexpr int64_t kSlotBytes = 32 * 1024;
constexpr int kN = static_cast<int>(kDecodeLayersStateSize);
constexpr int kRankPerLane = static_cast<int>(kDecodeLayersMaxRank / kDecodeLayersStateSize);
constexpr int kMaxOwn = static_cast<int>(kDecodeLayersMaxChannelsPerBlock);
constexpr int kMaxBatch = static_cast<int>(kDecodeLayersMaxBatch);
// The grid barrier's thread is the last warp's first lane; that warp holds no loads a phase ahead, which its fence
// would otherwise wait for. So the channels' inputs go to the half-warps of the other warps.
constexpr int kItemHalfWarps = 2 * (kWarps - 1);
constexpr int kBarrierThread = kThreads - 32;
// x_dbl's fixed point: a block's part of one output is clamped to +-2^24 and kept to 2^-30, so that 2^7 blocks'
// parts stay inside 63 bits.
constexpr float kFixedScale = 0x1p30f;
constexpr float kFixedClamp = 0x1p24f;

// ---- the arithmetic warps' barrier, the grid's, and the loads past L1 -------------------------------------------

__device__ __forceinline__ void arithmetic_sync() { asm volatile("bar.sync 1, %0;" ::"n"(kThreads) : "memory"); }

struct SyncArithmetic {
  __device__ __forceinline__ void operator()() const { arithmetic_sync(); }
};

// A load past the SM's L1 (ld.global.cg), for what other blocks wrote: a 16-bit float type by its bits, or a type
// __ldcg takes.
template <typename T>
__device__ __forceinline__ T load_shared_by_blocks(const T* p) {
  if constexpr (sizeof(T) == 2) {
    const unsigned short bits = __ldcg(reinterpret_cast<const unsigned short*>(p));
    T v;
    memcpy(&v, &bits, sizeof(v));
    return v;
  } else {
    return __ldcg(p);
  }
}

__device__ __forceinline__ unsigned load_acquire(const unsigned* p) {
  unsigned v;
  asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
  return v;
}

// Every block's arithmetic warps arrive before any leaves; what each wrote before is then visible to all (read with
// load_shared_by_blocks). The counter only grows: the k-th barrier waits for k * gridDim.x arrivals.
__device__ __forceinline__ void grid_barrier(unsigned* counter, unsigned& target) {
  target += gridDim.x;
  arithmetic_sync();
  if (threadIdx.x == kBarrierThread) {
    __threadfence();
    atomicAdd(counter, 1u);
    while (load_acquire(counter) < target) {
    }
  }
  arithmetic_sync();
}

// Sum over the 16 lanes of the calling half-warp; the warp's other half may be elsewhere.
__device__ __forceinline__ float half_warp_sum(float v, int lane) {
  const unsigned half = 0xffffu << (lane & 16);
  for (int offset = 8; offset > 0; offset /= 2) v += __shfl_xor_sync(half, v, offset);
  return v;
}

// ---- the ring of weight slots -----------------------------------------------------------------------------------

__device__ __forceinline__ uint32_t shared_address(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ bool mbarrier_try_wait(uint64_t* bar, uint32_t parity) {
  uint32_t done;
  asm volatile("{\n .reg .pred p;\n mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n selp.u32 %0, 1, 0, p;\n}"
               : "=r"(done)
               : "r"(shared_address(bar)), "r"(parity)
               : "memory");
  return done != 0;
}

__device__ __forceinline__ void mbarrier_wait(uint64_t* bar, uint32_t parity) {
  while (!mbarrier_try_wait(bar, parity)) {
  }
}

// One block's rows [first, end) of a (rows, in) matrix, `row_bytes` each.
struct Segment {
  const unsigned char* base = nullptr;
  int64_t first = 0, end = 0, row_bytes = 0;
};

__device__ __forceinline__ int64_t part_start(int64_t part, int64_t parts, int64_t n) { return part * n / parts; }

// The block's segments of a layer, in the order they stream: in_proj's x rows, its z rows (the block's channels),
// out_proj's rows.
struct LayerSegments {
  Segment s[3];
};

__device__ __forceinline__ LayerSegments layer_segments(const DecodeLayersCudaParams& p, const DecodeLayerPointers& L,
                                                        int64_t element_bytes) {
  const int64_t c0 = part_start(blockIdx.x, gridDim.x, p.d_inner),
                c1 = part_start(blockIdx.x + 1, gridDim.x, p.d_inner);
  const int64_t r0 = part_start(blockIdx.x, gridDim.x, p.d_model),
                r1 = part_start(blockIdx.x + 1, gridDim.x, p.d_model);
  const auto* in_proj = static_cast<const unsigned char*>(L.in_proj);
  const int64_t in_row = p.d_model * element_bytes, out_row = p.d_inner * element_bytes;
  LayerSegments g;
  g.s[0] = Segment{in_proj, c0, c1, in_row};
  g.s[1] = Segment{in_proj, p.d_inner + c0, p.d_inner + c1, in_row};
  g.s[2] = Segment{static_cast<const unsigned char*>(L.out_proj), r0, r1, out_row};
  return g;
}

__device__ __forceinline__ int64_t rows_per_slot(const Segment& s) { return kSlotBytes / s.row_bytes; }

// The streaming warp's first lane: every piece of every layer's segments, each into the next free slot.
__device__ void stream_weights(const DecodeLayersCudaParams& p, int64_t element_bytes, unsigned char* ring,
                               uint64_t* full, uint64_t* empty) {
  uint32_t piece = 0;
  for (int64_t layer = 0; layer < p.n_layers; ++layer) {
    const LayerSegments g = layer_segments(p, p.layers[layer], element_bytes);
    for (const Segment& s : g.s) {
      for (int64_t r = s.first; r < s.end; r += rows_per_slot(s), ++piece) {
        const uint32_t bytes = static_cast<uint32_t>(min(rows_per_slot(s), s.end - r) * s.row_bytes);
        const uint32_t slot = piece % kRingSlots, use = piece / kRingSlots;
        if (use > 0) mbarrier_wait(&empty[slot], (use - 1) & 1);
        asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(shared_address(&full[slot])),
                     "r"(bytes)
                     : "memory");
        asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];" ::"r"(
                         shared_address(ring + slot * kSlotBytes)),
                     "l"(s.base + r * s.row_bytes), "r"(bytes), "r"(shared_address(&full[slot]))
                     : "memory");
      }
    }
  }
}

// An arithmetic warp's place in the ring: the pieces come in the order stream_weights sends them.
struct RingReader {
  const unsigned char* ring;
  uint64_t* full;
  uint64_t* empty;
  uint32_t piece = 0;

  __device__ __forceinline__ const uint4* wait() {
    const uint32_t slot = piece % kRingSlots;
    mbarrier_wait(&full[slot], (piece / kRingSlots) & 1);
    return reinterpret_cast<const uint4*>(ring + slot * kSlotBytes);
  }
  // The warp is done with the piece: one arrival of the slot's kWarps.
  __device__ __forceinline__ void release(int lane) {
    __syncwarp();
    if (lane == 0)
      asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" ::"r"(shared_address(&empty[piece % kRingSlots]))
                   : "memory");
    ++piece;
  }
};

// For every row r of the segment: store(b, r - s.first, sum_c row[c] xs[b * in + c]) for each batch row b, a warp a
// row, the rows read from the ring. Every warp takes every piece, with rows in it or not.
template <typename T, typename Store>
__device__ __forceinline__ void segment_matvec(RingReader& ring, const Segment& s, const T* xs, int64_t in, int batch,
                                               int warp, int lane, Store store) {
  constexpr int E = kChunkElements<T>;
  const int64_t per_slot = rows_per_slot(s), chunks = in / E;
  for (int64_t r0 = s.first; r0 < s.end; r0 += per_slot) {
    const uint4* piece = ring.wait();
    const int64_t rows = min(per_slot, s.end - r0);
    for (int64_t r = warp; r < rows; r += kWarps) {
      float acc[kMaxBatch] = {};
      for (int64_t i = lane; i < chunks; i += 32) {
        float f[E];
        unpack<T>(piece[r * chunks + i], f);
#pragma unroll
        for (int b = 0; b < kMaxBatch; ++b) {
          if (b >= batch) break;
          float x[E];
          unpack<T>(reinterpret_cast<const uint4*>(xs + b * in)[i], x);
          float dot = 0.f;
#pragma unroll
          for (int e = 0; e < E; ++e) dot += f[e] * x[e];
          acc[b] += dot;
        }
      }
#pragma unroll
      for (int b = 0; b < kMaxBatch; ++b) {
        if (b >= batch) break;
        const float v = warp_sum(acc[b]);
        if (lane == 0) store(b, r0 + r - s.first, v);
      }
    }
    ring.release(lane);
  }
}

// ---- a layer's arithmetic ---------------------------------------------------------------------------------------

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
    const float inv_rms = rsqrtf(block_sum<kWarps>(sumsq, scratch, SyncArithmetic{}) / static_cast<float>(d) + L.eps);
    for (int64_t j = threadIdx.x; j < d; j += kThreads)
      xs[b * d + j] = from_float<T>(sum[b * d + j] * inv_rms * L.norm_weight[j]);
  }
}

// One (batch row, channel) of the block's, as a half-warp holds it (lane16: its state): what phases A and C read that
// no phase of the step writes, so that it can be read a phase ahead.
template <typename T, int W>
struct Item {
  float h = 0.f, neg_a = 0.f, dt_bias = 0.f, D = 0.f, bias = 0.f;
  float dt_w[kRankPerLane] = {};
  float w[W] = {};
  T window[W > 1 ? W - 1 : 1] = {};  // the conv's last W - 1 inputs, oldest first
};

template <typename T, int W>
__device__ __forceinline__ Item<T, W> load_item(const DecodeLayersCudaParams& p, const DecodeLayerPointers& L,
                                                int64_t b, int64_t c, int lane16) {
  Item<T, W> it;
  const int64_t di = p.d_inner;
  it.h = L.ssm_state[(b * di + c) * kN + lane16];
  it.neg_a = __expf(L.A_log[c * kN + lane16]);
  it.dt_bias = L.dt_bias[c];
  it.D = L.D[c];
  it.bias = L.conv_bias ? L.conv_bias[c] : 0.f;
  const T* dt_w = static_cast<const T*>(L.dt_proj) + c * p.rank;
#pragma unroll
  for (int t = 0; t < kRankPerLane; ++t)
    if (lane16 + 16 * t < p.rank) it.dt_w[t] = to_float(__ldg(dt_w + lane16 + 16 * t));
#pragma unroll
  for (int k = 0; k < W; ++k) it.w[k] = L.conv_weight[c * W + k];
  const T* window = static_cast<const T*>(L.conv_state) + b * (W - 1) * di + c;
#pragma unroll
  for (int k = 0; k + 1 < W; ++k) it.window[k] = window[k * di];
  return it;
}

// x_proj's columns of the block's channels, as thread j < rank + 2N holds them: x_proj[j, c0 + k] for k < own.
struct Columns {
  float v[kMaxOwn] = {};
};

template <typename T>
__device__ __forceinline__ Columns load_columns(const DecodeLayersCudaParams& p, const DecodeLayerPointers& L,
                                                int64_t c0, int64_t own) {
  Columns col;
  const int64_t width = p.rank + 2 * kN;
  if (threadIdx.x < width) {
    const T* row = static_cast<const T*>(L.x_proj) + threadIdx.x * p.d_inner + c0;
#pragma unroll
    for (int k = 0; k < kMaxOwn; ++k)
      if (k < own) col.v[k] = to_float(__ldg(row + k));
  }
  return col;
}

// Adds v, a block's part of x_dbl[i], into the grid's fixed-point sum (or flags it, when it is not a number).
__device__ __forceinline__ void add_fixed(const DecodeLayersCudaParams& p, int64_t i, float v) {
  if (!isfinite(v)) {
    atomicOr(p.x_dbl_bad + i, 1u);
    return;
  }
  const long long q = llrintf(fminf(fmaxf(v, -kFixedClamp), kFixedClamp) * kFixedScale);
  atomicAdd(p.x_dbl_sum + i, static_cast<unsigned long long>(q));
}

__device__ __forceinline__ float fixed_to_float(unsigned long long sum, unsigned bad) {
  return bad ? __int_as_float(0x7fc00000)
             : static_cast<float>(static_cast<double>(static_cast<long long>(sum)) * 0x1p-30);
}

// The shared memory of a block, carved from the dynamic allocation.
template <typename T>
struct Shared {
  unsigned char* ring;  // kRingSlots * kSlotBytes
  uint64_t* full;       // kRingSlots
  uint64_t* empty;      // kRingSlots
  T* xs;                // (batch, max(d_model, d_inner)): the normalised residual, then y
  float* sum;           // (batch, d_model): residual + delta
  float* dbl;           // (batch, rank + 2N): x_dbl
  float* x;             // (batch, own): the conv's output of the block's channels
  float* xp;            // (batch, own): in_proj's x rows of the block's channels, rounded to T
  float* z;             // (batch, own): its z rows, rounded to T
};

__host__ __device__ __forceinline__ int64_t round16(int64_t bytes) { return (bytes + 15) / 16 * 16; }

// The layout above, for Shared's carving and for the launch's size.
__host__ __device__ __forceinline__ int64_t shared_layout(int64_t batch, int64_t d_model, int64_t d_inner, int64_t rank,
                                                          int64_t element_bytes, int64_t* offsets) {
  const int64_t sizes[] = {kRingSlots * kSlotBytes, kRingSlots * 8,
                           kRingSlots * 8,          batch * (d_model > d_inner ? d_model : d_inner) * element_bytes,
                           batch * d_model * 4,     batch * (rank + 2 * kN) * 4,
                           batch * kMaxOwn * 4,     batch * kMaxOwn * 4,
                           batch * kMaxOwn * 4};
  int64_t at = 0;
  for (int i = 0; i < 9; ++i) {
    if (offsets) offsets[i] = at;
    at += round16(sizes[i]);
  }
  return at;
}

template <typename T, int W>
__global__ void __maxnreg__(kMaxRegisters) decode_layers_kernel(const DecodeLayersCudaParams p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  extern __shared__ __align__(128) unsigned char shared[];
  __shared__ float scratch[kWarps];
  int64_t at[9];
  shared_layout(p.batch, p.d_model, p.d_inner, p.rank, sizeof(T), at);
  const Shared<T> sh{shared + at[0],
                     reinterpret_cast<uint64_t*>(shared + at[1]),
                     reinterpret_cast<uint64_t*>(shared + at[2]),
                     reinterpret_cast<T*>(shared + at[3]),
                     reinterpret_cast<float*>(shared + at[4]),
                     reinterpret_cast<float*>(shared + at[5]),
                     reinterpret_cast<float*>(shared + at[6]),
                     reinterpret_cast<float*>(shared + at[7]),
                     reinterpret_cast<float*>(shared + at[8])};
  if (threadIdx.x == 0) {
    for (int i = 0; i < kRingSlots; ++i) {
      asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;" ::"r"(shared_address(&sh.full[i])) : "memory");
      asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(shared_address(&sh.empty[i])), "n"(kWarps)
                   : "memory");
    }
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
  }
  __syncthreads();  // the last barrier of the whole block: the streaming warp goes its own way
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, lane16 = lane % 16;
  if (warp == kWarps) {
    if (lane == 0) stream_weights(p, sizeof(T), sh.ring, sh.full, sh.empty);
    return;
  }
  RingReader ring{sh.ring, sh.full, sh.empty};
  const int64_t di = p.d_inner, width = p.rank + 2 * kN;
  const int64_t c0 = part_start(blockIdx.x, gridDim.x, di), own = part_start(blockIdx.x + 1, gridDim.x, di) - c0;
  const int64_t items = p.batch * own;
  const int half_warp = threadIdx.x / 16;
  const bool has_item = half_warp < kItemHalfWarps && half_warp < items;
  unsigned target = 0;
  // The first of the half-warp's items and the thread's x_proj columns, for layer 0; then a phase ahead.
  Item<T, W> first;
  if (has_item) first = load_item<T, W>(p, p.layers[0], half_warp / own, c0 + half_warp % own, lane16);
  Columns col = load_columns<T>(p, p.layers[0], c0, own);
  for (int64_t layer = 0; layer < p.n_layers; ++layer) {
    const DecodeLayerPointers& L = p.layers[layer];
    const LayerSegments g = layer_segments(p, L, sizeof(T));
    // A: the norm; the block's rows of in_proj; the conv of its channels and their part of x_proj.
    add_rms_norm_into<T>(p, L, layer, sh.xs, sh.sum, scratch);
    arithmetic_sync();
    segment_matvec<T>(ring, g.s[0], sh.xs, p.d_model, static_cast<int>(p.batch), warp, lane,
                      [&](int b, int64_t k, float v) { sh.xp[b * own + k] = to_float(from_float<T>(v)); });
    segment_matvec<T>(ring, g.s[1], sh.xs, p.d_model, static_cast<int>(p.batch), warp, lane,
                      [&](int b, int64_t k, float v) { sh.z[b * own + k] = to_float(from_float<T>(v)); });
    arithmetic_sync();
    if (half_warp < kItemHalfWarps && lane16 == 0) {
      for (int64_t i = half_warp; i < items; i += kItemHalfWarps) {
        const int64_t b = i / own, k = i % own;
        const Item<T, W> it = i == half_warp ? first : load_item<T, W>(p, L, b, c0 + k, lane16);
        // The conv's arithmetic of conv_window_silu, over the window in registers.
        const T newest = from_float<T>(sh.xp[i]);
        float acc = it.bias;
#pragma unroll
        for (int t = 0; t + 1 < W; ++t) acc += it.w[t] * to_float(it.window[t]);
        acc += it.w[W - 1] * to_float(newest);
        sh.x[i] = to_float(from_float<T>(acc * sigmoidf(acc)));
        T* window = static_cast<T*>(L.conv_state) + b * (W - 1) * di + c0 + k;
#pragma unroll
        for (int t = 0; t + 2 < W; ++t) window[t * di] = it.window[t + 1];
        if constexpr (W > 1) window[(W - 2) * di] = newest;
      }
    }
    arithmetic_sync();
    if (threadIdx.x < width) {
      for (int64_t b = 0; b < p.batch; ++b) {
        float part = 0.f;
#pragma unroll
        for (int k = 0; k < kMaxOwn; ++k)
          if (k < own) part += col.v[k] * sh.x[b * own + k];
        add_fixed(p, b * width + threadIdx.x, part);
      }
    }
    grid_barrier(p.barrier, target);
    // C: x_dbl, then the SSM step of the block's channels, a half-warp each.
    for (int64_t i = threadIdx.x; i < p.batch * width; i += kThreads)
      sh.dbl[i] = to_float(from_float<T>(
          fixed_to_float(load_shared_by_blocks(p.x_dbl_sum + i), load_shared_by_blocks(p.x_dbl_bad + i))));
    arithmetic_sync();
    if (half_warp < kItemHalfWarps) {
      for (int64_t i = half_warp; i < items; i += kItemHalfWarps) {
        const int64_t b = i / own, c = c0 + i % own;
        const Item<T, W> it = i == half_warp ? first : load_item<T, W>(p, L, b, c, lane16);
        const float* row = sh.dbl + b * width;
        float dot = 0.f;
#pragma unroll
        for (int t = 0; t < kRankPerLane; ++t)
          if (lane16 + 16 * t < p.rank) dot += it.dt_w[t] * row[lane16 + 16 * t];
        dot = half_warp_sum(dot, lane);
        const float dt = softplusf(it.dt_bias + dot);
        const float x = sh.x[i], z = sh.z[i];
        const float h = __expf(-it.neg_a * dt) * it.h + dt * x * row[p.rank + lane16];
        L.ssm_state[(b * di + c) * kN + lane16] = h;
        float y = h * row[p.rank + kN + lane16];
        y = half_warp_sum(y, lane) + it.D * x;
        if (lane16 == 0) static_cast<T*>(p.y)[b * di + c] = from_float<T>(y * z * sigmoidf(z));
      }
    }
    grid_barrier(p.barrier, target);
    // D: the block's rows of out_proj; block 0 clears x_dbl's sum, which every block has read.
    if (blockIdx.x == 0) {
      for (int64_t i = threadIdx.x; i < p.batch * width; i += kThreads) {
        p.x_dbl_sum[i] = 0;
        p.x_dbl_bad[i] = 0;
      }
    }
    if (layer + 1 < p.n_layers) {
      const DecodeLayerPointers& next = p.layers[layer + 1];
      if (has_item) first = load_item<T, W>(p, next, half_warp / own, c0 + half_warp % own, lane16);
      col = load_columns<T>(p, next, c0, own);
    }
    for (int64_t i = threadIdx.x; i < p.batch * di; i += kThreads)
      sh.xs[i] = load_shared_by_blocks(static_cast<const T*>(p.y) + i);
    arithmetic_sync();
    T* delta = static_cast<T*>(p.delta);
    segment_matvec<T>(ring, g.s[2], sh.xs, di, static_cast<int>(p.batch), warp, lane,
                      [&](int b, int64_t r, float v) { delta[b * p.d_model + g.s[2].first + r] = from_float<T>(v); });
    if (layer + 1 < p.n_layers) grid_barrier(p.barrier, target);
  }
#endif
}

// Below the H100's 227 KiB a block, less the static shared memory.
constexpr int64_t kMaxSharedBytes = 220 * 1024;

template <typename T, int W>
cudaError_t launch(const DecodeLayersCudaParams& p, size_t shared) {
  auto* kernel = decode_layers_kernel<T, W>;
  static const cudaError_t opt_in =
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(kMaxSharedBytes));
  if (opt_in != cudaSuccess) return opt_in;
  int per_sm = 0;
  const cudaError_t occupancy = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kBlockThreads, shared);
  if (occupancy != cudaSuccess) return occupancy;
  if (per_sm < 1) return cudaErrorCooperativeLaunchTooLarge;
  // One block an SM, all resident at once: the cooperative launch guarantees it (the barriers need it).
  cudaLaunchConfig_t config = {};
  config.gridDim = dim3(static_cast<unsigned>(cuda_sm_count()));
  config.blockDim = dim3(kBlockThreads);
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

bool decode_layers_takes(int64_t batch, int64_t n_layers, int64_t d_model, int64_t d_inner, int64_t rank,
                         int64_t d_state, int64_t conv_width, int64_t element_bytes) {
  if (element_bytes != 2 && element_bytes != 4) return false;
  const int64_t row_unit = 32 * (16 / element_bytes);  // a chunk for each lane
  const int64_t blocks = cuda_sm_count();
  return cuda_compute_major() >= 9 && batch >= 1 && batch <= kDecodeLayersMaxBatch && n_layers >= 1 &&
         n_layers <= kDecodeLayersMaxLayers && d_model % row_unit == 0 && d_inner % row_unit == 0 && rank >= 1 &&
         rank <= kDecodeLayersMaxRank && rank + 2 * kN <= kThreads && d_state == kDecodeLayersStateSize &&
         conv_width >= 1 && conv_width <= kConvMaxWidth &&
         (d_inner + blocks - 1) / blocks <= kDecodeLayersMaxChannelsPerBlock &&
         std::max(d_model, d_inner) * element_bytes <= kSlotBytes &&
         shared_layout(batch, d_model, d_inner, rank, element_bytes, nullptr) <= kMaxSharedBytes;
}

void decode_layers_cuda(const DecodeLayersCudaParams& p) {
  const int64_t bytes = p.dtype == CudaDtype::kFloat32 ? 4 : 2;
  if (!decode_layers_takes(p.batch, p.n_layers, p.d_model, p.d_inner, p.rank, kDecodeLayersStateSize, p.conv_width,
                           bytes))
    throw std::runtime_error("decode layers: batch " + std::to_string(p.batch) + ", " + std::to_string(p.n_layers) +
                             " layers of d_model " + std::to_string(p.d_model) + " and d_inner " +
                             std::to_string(p.d_inner) + " are outside what the kernel takes");
  const size_t shared = static_cast<size_t>(shared_layout(p.batch, p.d_model, p.d_inner, p.rank, bytes, nullptr));
  cudaError_t e = cudaSuccess;
  dispatch_dtype(p.dtype, [&](auto dtype_tag) {
    dispatch_int<1, 2, 3, 4>(p.conv_width,
                             [&](auto width) { e = launch<decltype(dtype_tag), decltype(width)::value>(p, shared); });
  });
  if (e != cudaSuccess) throw std::runtime_error(std::string("decode layers: ") + cudaGetErrorString(e));
}

}  // namespace ftmamba::kernels
