// defines: the decode step's Mamba layers in one resident kernel (see decode_layers_cuda.h).
//
// The grid is one block of 16 warps an SM. A matrix product gives each warp of the grid rows first, first + warps,
// ...; a lane reads 16-byte chunks of a row (kChunkElements), up to 8 in flight, and a row of at most 4 chunks a lane
// is read two rows at a time, so that 8 chunks a lane are in flight either way. The activations a phase reads (the
// normalised residual, the conv's output, y) sit in shared memory in the weight's dtype, as the single-matrix kernels
// hold them. What one block writes and another reads (xz, x_dbl, y, delta, the residual) is read with ld.global.cg,
// past the SM's own L1, which the barrier does not clean.
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
constexpr int kSlots = 8;  // 16-byte chunks a lane has in flight
constexpr int kN = static_cast<int>(kDecodeLayersStateSize);
constexpr int kRankPerLane = static_cast<int>(kDecodeLayersMaxRank / kDecodeLayersStateSize);

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

// Asks for the lines of [p, p + bytes) to be brought into L2, without waiting: parameters that a phase reads first
// after a barrier (a norm's weight, the conv's), so that it finds them there instead of in DRAM.
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

// A warp's rows of a matrix (rows, in): first, first + step, ..., `pair` of them at a time; a row is `per_lane`
// chunks a lane, read in passes of at most kSlots.
struct RowWalk {
  int64_t rows = 0, chunks = 0, first = 0, step = 0;
  int per_lane = 0, pair = 1, passes = 1;
};

template <typename T>
__device__ __forceinline__ RowWalk row_walk(int64_t rows, int64_t in, int64_t first, int64_t step) {
  RowWalk w;
  w.rows = rows;
  w.chunks = in / kChunkElements<T>;
  w.first = first;
  w.step = step;
  w.per_lane = static_cast<int>(w.chunks / 32);
  w.pair = 2 * w.per_lane <= kSlots ? 2 : 1;
  w.passes = (w.per_lane + kSlots - 1) / kSlots;
  return w;
}

// Slot k of a pass: row j of the group (0 or 1) and the lane's chunk i of that row; false past the pass's end.
__device__ __forceinline__ bool slot(const RowWalk& w, int pass, int k, int& j, int& i) {
  if (w.pair == 2) {
    j = k / w.per_lane;
    i = k - j * w.per_lane;
    return k < 2 * w.per_lane;
  }
  j = 0;
  i = kSlots * pass + k;
  return i < w.per_lane;
}

// The chunks of one pass over the group of rows from g.
__device__ __forceinline__ void load_pass(const uint4* weight, const RowWalk& w, int64_t g, int pass, int lane,
                                          uint4 (&regs)[kSlots]) {
#pragma unroll
  for (int k = 0; k < kSlots; ++k) {
    int j, i;
    if (!slot(w, pass, k, j, i)) break;
    const int64_t r = g + j * w.step;
    if (r < w.rows) regs[k] = __ldg(weight + r * w.chunks + lane + 32 * i);
  }
}

// The first pass of the warp's first group, read before the barrier that precedes the product.
__device__ __forceinline__ void prefetch(const void* weight, const RowWalk& w, int lane, uint4 (&regs)[kSlots]) {
  if (w.first < w.rows) load_pass(static_cast<const uint4*>(weight), w, w.first, 0, lane, regs);
}

// y[b * y_stride + r] = sum_c weight[r, c] xs[b * in + c] for the warp's rows r, rounded to T. The first pass is in
// regs already (prefetch).
template <typename T>
__device__ __forceinline__ void warp_matvec(const void* weight_ptr, const RowWalk& w, const T* xs, int64_t in,
                                            int batch, T* y, int64_t y_stride, int lane, uint4 (&regs)[kSlots]) {
  constexpr int E = kChunkElements<T>;
  const uint4* weight = static_cast<const uint4*>(weight_ptr);
  for (int64_t g = w.first; g < w.rows; g += w.pair * w.step) {
    float acc0[kDecodeLayersMaxBatch] = {}, acc1[kDecodeLayersMaxBatch] = {};
    for (int pass = 0; pass < w.passes; ++pass) {
      if (g != w.first || pass != 0) load_pass(weight, w, g, pass, lane, regs);
#pragma unroll
      for (int k = 0; k < kSlots; ++k) {
        int j, i;
        if (!slot(w, pass, k, j, i)) break;
        if (g + j * w.step >= w.rows) continue;
        float f[E];
        unpack<T>(regs[k], f);
        const int64_t c = lane + 32 * i;
#pragma unroll
        for (int b = 0; b < kDecodeLayersMaxBatch; ++b) {
          if (b >= batch) break;
          float x[E];
          unpack<T>(*reinterpret_cast<const uint4*>(xs + b * in + c * E), x);
          float s = 0.f;
#pragma unroll
          for (int e = 0; e < E; ++e) s += f[e] * x[e];
          if (j == 0)
            acc0[b] += s;
          else
            acc1[b] += s;
        }
      }
    }
#pragma unroll
    for (int b = 0; b < kDecodeLayersMaxBatch; ++b) {
      if (b >= batch) break;
      const float s0 = warp_sum(acc0[b]);
      if (lane == 0) y[b * y_stride + g] = from_float<T>(s0);
      if (w.pair == 2) {
        const float s1 = warp_sum(acc1[b]);
        if (lane == 0 && g + w.step < w.rows) y[b * y_stride + g + w.step] = from_float<T>(s1);
      }
    }
  }
}

// Phase A's input: xs (batch, d_model) <- rms_norm(residual + delta) * norm_weight, rounded to T; block 0 keeps
// residual + delta for the next layer.
// `sum` holds residual + delta, (batch, d_model) floats in shared memory, between the two passes.
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

// Phase C's per-channel inputs that do not wait for x_proj: read before the barrier that precedes it.
template <typename T, int W>
struct Channel {
  float h = 0.f, neg_a = 0.f, dt_bias = 0.f, D = 0.f, x = 0.f, z = 0.f;
  float dt_w[kRankPerLane] = {};
  T newest{};
  T* window = nullptr;
};

template <typename T, int W>
__device__ __forceinline__ Channel<T, W> channel_inputs(const DecodeLayersCudaParams& p, const DecodeLayerPointers& L,
                                                        int64_t item, int lane16) {
  Channel<T, W> ch;
  const int64_t di = p.d_inner, b = item / di, c = item % di;
  ch.h = L.ssm_state[item * kN + lane16];
  ch.neg_a = __expf(L.A_log[c * kN + lane16]);
  ch.dt_bias = L.dt_bias[c];
  ch.D = L.D[c];
  const T* dt_w = static_cast<const T*>(L.dt_proj) + c * p.rank;
#pragma unroll
  for (int t = 0; t < kRankPerLane; ++t)
    if (lane16 + 16 * t < p.rank) ch.dt_w[t] = to_float(__ldg(dt_w + lane16 + 16 * t));
  const T* xz = static_cast<const T*>(p.xz) + b * 2 * di;
  ch.newest = load_shared_by_blocks(xz + c);
  ch.z = to_float(load_shared_by_blocks(xz + di + c));
  ch.window = static_cast<T*>(L.conv_state) + b * (W - 1) * di + c;
  ch.x = to_float(from_float<T>(conv_window_silu<T, W>(ch.window, di, ch.newest, L.conv_weight, L.conv_bias, c)));
  return ch;
}

// Phase C for one channel of one batch row, given x_dbl (batch, rank + 2N) as floats in shared memory.
template <typename T, int W>
__device__ __forceinline__ void channel_step(const DecodeLayersCudaParams& p, const DecodeLayerPointers& L,
                                             int64_t item, int lane16, const Channel<T, W>& ch, const float* dbl) {
  const int64_t di = p.d_inner, b = item / di, c = item % di;
  const float* row = dbl + b * (p.rank + 2 * kN);
  float dot = 0.f;
#pragma unroll
  for (int t = 0; t < kRankPerLane; ++t)
    if (lane16 + 16 * t < p.rank) dot += ch.dt_w[t] * row[lane16 + 16 * t];
  const float dt = softplusf(ch.dt_bias + half_warp_sum(dot));
  const float h = __expf(-ch.neg_a * dt) * ch.h + dt * ch.x * row[p.rank + lane16];
  L.ssm_state[item * kN + lane16] = h;
  const float y = half_warp_sum(h * row[p.rank + kN + lane16]) + ch.D * ch.x;
  if (lane16 == 0) {
    static_cast<T*>(p.y)[b * di + c] = from_float<T>(y * ch.z * sigmoidf(ch.z));
    advance_window<T, W>(ch.window, di, ch.newest);
  }
}

template <typename T, int W>
__global__ void __launch_bounds__(kThreads, 1) decode_layers_kernel(const DecodeLayersCudaParams p) {
  extern __shared__ __align__(16) unsigned char shared[];
  __shared__ float scratch[kWarps];
  const int64_t di = p.d_inner, dbl_width = p.rank + 2 * kN;
  T* xs = reinterpret_cast<T*>(shared);  // (batch, max(d_model, d_inner))
  const int64_t widest = p.d_model > di ? p.d_model : di;
  float* dbl = reinterpret_cast<float*>(shared + (p.batch * widest * int64_t(sizeof(T)) + 15) / 16 * 16);
  float* sum = dbl + p.batch * dbl_width;  // (batch, d_model)
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, lane16 = lane % 16;
  const int64_t grid_warps = int64_t(gridDim.x) * kWarps, global_warp = int64_t(blockIdx.x) * kWarps + warp;
  // x_proj's rows go to the first blocks only, which alone need the conv's whole output.
  const int64_t x_proj_blocks = min(int64_t(gridDim.x), (dbl_width + kWarps - 1) / kWarps);
  const bool does_x_proj = blockIdx.x < x_proj_blocks;
  // Channels: both half-warps of a warp have one, or neither (batch * d_inner is even).
  const int64_t items = p.batch * di, item_step = 2 * grid_warps, first_item = 2 * global_warp + lane / 16;
  const RowWalk in_walk = row_walk<T>(2 * di, p.d_model, global_warp, grid_warps);
  const RowWalk x_walk = row_walk<T>(dbl_width, di, global_warp, x_proj_blocks * kWarps);
  const RowWalk out_walk = row_walk<T>(p.d_model, di, global_warp, grid_warps);
  unsigned target = 0;
  phase_mark(p, 0);
  uint4 regs[kSlots];
  prefetch(p.layers[0].in_proj, in_walk, lane, regs);
  prefetch_l2(p.layers[0].norm_weight, p.d_model * int64_t(sizeof(float)));
  for (int64_t layer = 0; layer < p.n_layers; ++layer) {
    const DecodeLayerPointers& L = p.layers[layer];
    // A: the norm, and in_proj into xz.
    add_rms_norm_into<T>(p, L, layer, xs, sum, scratch);
    __syncthreads();
    warp_matvec<T>(L.in_proj, in_walk, xs, p.d_model, static_cast<int>(p.batch), static_cast<T*>(p.xz), 2 * di, lane,
                   regs);
    if (does_x_proj) {
      prefetch(L.x_proj, x_walk, lane, regs);
      prefetch_l2(L.conv_weight, di * p.conv_width * int64_t(sizeof(float)));
      if (L.conv_bias) prefetch_l2(L.conv_bias, di * int64_t(sizeof(float)));
      prefetch_l2(L.conv_state, p.batch * (W - 1) * di * int64_t(sizeof(T)));
    }
    grid_barrier(p, target);
    // B: the conv's output and x_proj into x_dbl, on the first blocks.
    if (does_x_proj) {
      for (int64_t i = threadIdx.x; i < items; i += kThreads) {
        const int64_t b = i / di, c = i % di;
        const T* xz = static_cast<const T*>(p.xz) + b * 2 * di;
        const T* window = static_cast<const T*>(L.conv_state) + b * (W - 1) * di + c;
        xs[i] = from_float<T>(
            conv_window_silu<T, W>(window, di, load_shared_by_blocks(xz + c), L.conv_weight, L.conv_bias, c));
      }
      __syncthreads();
      warp_matvec<T>(L.x_proj, x_walk, xs, di, static_cast<int>(p.batch), static_cast<T*>(p.x_dbl), dbl_width, lane,
                     regs);
    }
    Channel<T, W> first;
    if (first_item < items) first = channel_inputs<T, W>(p, L, first_item, lane16);
    grid_barrier(p, target);
    // C: the SSM step, a half-warp a channel.
    for (int64_t i = threadIdx.x; i < p.batch * dbl_width; i += kThreads)
      dbl[i] = to_float(load_shared_by_blocks(static_cast<const T*>(p.x_dbl) + i));
    __syncthreads();
    for (int64_t item = first_item; item < items; item += item_step) {
      if (item == first_item) {
        channel_step<T, W>(p, L, item, lane16, first, dbl);
      } else {
        channel_step<T, W>(p, L, item, lane16, channel_inputs<T, W>(p, L, item, lane16), dbl);
      }
    }
    prefetch(L.out_proj, out_walk, lane, regs);
    grid_barrier(p, target);
    // D: out_proj into delta.
    for (int64_t i = threadIdx.x; i < items; i += kThreads)
      xs[i] = load_shared_by_blocks(static_cast<const T*>(p.y) + i);
    __syncthreads();
    warp_matvec<T>(L.out_proj, out_walk, xs, di, static_cast<int>(p.batch), static_cast<T*>(p.delta), p.d_model, lane,
                   regs);
    if (layer + 1 < p.n_layers) {
      prefetch(p.layers[layer + 1].in_proj, in_walk, lane, regs);
      prefetch_l2(p.layers[layer + 1].norm_weight, p.d_model * int64_t(sizeof(float)));
      grid_barrier(p, target);
    }
  }
  __syncthreads();
  phase_mark(p, 2 * (target / gridDim.x) + 1);
}

// Dynamic shared memory: the activations' rows in T, then x_dbl and residual + delta as floats.
size_t shared_bytes(int64_t batch, int64_t d_model, int64_t d_inner, int64_t rank, int64_t element_bytes) {
  const size_t rows = static_cast<size_t>(batch * std::max(d_model, d_inner) * element_bytes + 15) / 16 * 16;
  return rows + static_cast<size_t>(batch * (rank + 2 * kDecodeLayersStateSize + d_model)) * sizeof(float);
}

// The dynamic shared memory a block may ask for on the current device: its opt-in limit (227 KiB on sm_90, 163 on
// sm_80) less the kernel's static share. A fixed 200 KiB was refused on every launch where the limit is lower.
size_t max_shared_bytes() {
  const int opt_in = cuda_shared_memory_opt_in();
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
         d_model % row_unit == 0 && d_inner % row_unit == 0 && rank >= 1 && rank <= kDecodeLayersMaxRank &&
         d_state == kDecodeLayersStateSize && conv_width >= 1 && conv_width <= kConvMaxWidth &&
         shared_bytes(batch, d_model, d_inner, rank, element_bytes) <= max_shared_bytes();
}

void decode_layers_cuda(const DecodeLayersCudaParams& p) {
  const int64_t bytes = p.dtype == CudaDtype::kFloat32 ? 4 : 2;
  if (!decode_layers_takes(p.batch, p.n_layers, p.d_model, p.d_inner, p.rank, kDecodeLayersStateSize, p.conv_width,
                           bytes))
    throw std::runtime_error("decode layers: batch " + std::to_string(p.batch) + ", " + std::to_string(p.n_layers) +
                             " layers of d_model " + std::to_string(p.d_model) + " and d_inner " +
                             std::to_string(p.d_inner) + " are outside what the kernel takes");
  const size_t shared = shared_bytes(p.batch, p.d_model, p.d_inner, p.rank, bytes);
  cudaError_t e = cudaSuccess;
  dispatch_dtype(p.dtype, [&](auto dtype_tag) {
    dispatch_int<1, 2, 3, 4>(p.conv_width,
                             [&](auto width) { e = launch<decltype(dtype_tag), decltype(width)::value>(p, shared); });
  });
  if (e != cudaSuccess) throw std::runtime_error(std::string("decode layers: ") + cudaGetErrorString(e));
}

}  // namespace ftmamba::kernels
