// defines: the CUDA matrix-vector product of a decode step and its prologues (see decode_gemv_cuda.h).
//
// One warp a weight row at a time: each lane reads 16-byte chunks of the row (8 bf16 or 4 float), multiplies them
// by the same chunks of the x rows, held in shared memory in the weight's dtype (x is rounded to it anyway), and
// the warp sums its lanes. A block is 4 warps; the grid is at most 16
// blocks an SM, so that a large matrix (the LM head) is walked a few rows a warp while each block prepares x once.
// The first row's chunks are loaded before the kernel waits for the one before it, so the weight stream starts
// while that kernel still runs. At batch 1 and 370M parameters a row is 2 or 4 KiB, a matrix 0.4 to 8 MiB: the
// product is a read of the weight at the memory's bandwidth plus this kernel's start, which is what is cut.
#include <utility>

#include "ftmamba/kernels/block_sum.cuh"
#include "ftmamba/kernels/causal_conv1d_cuda.h"
#include "ftmamba/kernels/conv_window.cuh"
#include "ftmamba/kernels/cuda_common.cuh"
#include "ftmamba/kernels/decode_gemv_cuda.h"
#include "ftmamba/kernels/dependent_launch.cuh"
#include "ftmamba/kernels/packed_chunk.cuh"

namespace ftmamba::kernels {
namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kChunksPerLane = 8;  // a lane's chunks in flight: a row of 2,048 bf16 (1,024 float) in one pass
constexpr int kBlocksPerSm = 16;

// x as a product in TW reads it: rounded to TW.
template <typename TW>
__device__ __forceinline__ float round_to(float x) {
  return to_float(from_float<TW>(x));
}

// xs (batch, in) in TW <- the prologue's x.
template <typename TW, typename TX, GemvPrologue P, int W>
__device__ __forceinline__ void prologue(const DecodeGemvCudaParams& p, TW* xs, float* scratch) {
  const int64_t in = p.in;
  for (int64_t b = 0; b < p.batch; ++b) {
    TW* row = xs + b * in;
    if constexpr (P == GemvPrologue::kNone) {
      const TX* x = static_cast<const TX*>(p.x) + b * p.x_stride;
      for (int64_t j = threadIdx.x; j < in; j += kThreads) row[j] = from_float<TW>(to_float(x[j]));
    } else if constexpr (P == GemvPrologue::kAddRmsNorm) {
      const float* x = static_cast<const float*>(p.x) + b * p.x_stride;
      const TX* delta = p.delta ? static_cast<const TX*>(p.delta) + b * in : nullptr;
      float* sum = p.residual_out + b * in;  // written by block 0; every block adds x and delta itself
      float sumsq = 0.f;
      for (int64_t j = threadIdx.x; j < in; j += kThreads) {
        const float v = delta ? x[j] + to_float(delta[j]) : x[j];
        sumsq += v * v;
        if (blockIdx.x == 0) sum[j] = v;
      }
      const float inv_rms = rsqrtf(block_sum<kWarps>(sumsq, scratch) / static_cast<float>(in) + p.eps);
      for (int64_t j = threadIdx.x; j < in; j += kThreads) {
        const float v = delta ? x[j] + to_float(delta[j]) : x[j];
        row[j] = from_float<TW>(v * inv_rms * p.norm_weight[j]);
      }
    } else {  // kConv
      const TX* x = static_cast<const TX*>(p.x) + b * p.x_stride;
      const TX* state = static_cast<const TX*>(p.conv_state) + b * (W - 1) * in;
      for (int64_t c = threadIdx.x; c < in; c += kThreads)
        row[c] =
            from_float<TW>(round_to<TX>(conv_window_silu<TX, W>(state + c, in, x[c], p.conv_weight, p.conv_bias, c)));
    }
  }
}

template <typename TW, typename TX, GemvPrologue P, int W>
__global__ void __launch_bounds__(kThreads) decode_gemv_kernel(const DecodeGemvCudaParams p) {
  extern __shared__ __align__(16) unsigned char shared[];
  TW* xs = reinterpret_cast<TW*>(shared);  // (batch, in)
  __shared__ float scratch[kWarps];
  constexpr int E = kChunkElements<TW>;
  const int lane = threadIdx.x % 32;
  const int64_t chunks = p.in / E, row_step = int64_t(gridDim.x) * kWarps;
  const int64_t first_row = int64_t(blockIdx.x) * kWarps + threadIdx.x / 32;
  const uint4* weight = static_cast<const uint4*>(p.weight);
  uint4 w[kChunksPerLane];
  // The weights are no kernel's output: the first row is read before waiting for the kernel before this one.
  if (first_row < p.out) {
#pragma unroll
    for (int i = 0; i < kChunksPerLane; ++i)
      if (lane + 32 * i < chunks) w[i] = __ldg(weight + first_row * chunks + lane + 32 * i);
  }
  wait_for_previous_kernel();
  allow_next_kernel();
  prologue<TW, TX, P, W>(p, xs, scratch);
  __syncthreads();
  TW* y = static_cast<TW*>(p.y);
  for (int64_t r = first_row; r < p.out; r += row_step) {
    float acc[kDecodeGemvMaxBatch] = {};
    for (int64_t c0 = 0; c0 < chunks; c0 += 32 * kChunksPerLane) {
      if (r != first_row || c0 != 0) {
#pragma unroll
        for (int i = 0; i < kChunksPerLane; ++i)
          if (c0 + lane + 32 * i < chunks) w[i] = __ldg(weight + r * chunks + c0 + lane + 32 * i);
      }
#pragma unroll
      for (int i = 0; i < kChunksPerLane; ++i) {
        const int64_t c = c0 + lane + 32 * i;
        if (c >= chunks) break;
        float f[E], x[E];
        unpack<TW>(w[i], f);
#pragma unroll
        for (int b = 0; b < kDecodeGemvMaxBatch; ++b) {
          if (b >= p.batch) break;
          unpack<TW>(*reinterpret_cast<const uint4*>(xs + b * p.in + c * E), x);
#pragma unroll
          for (int e = 0; e < E; ++e) acc[b] += f[e] * x[e];
        }
      }
    }
#pragma unroll
    for (int b = 0; b < kDecodeGemvMaxBatch; ++b) {
      if (b >= p.batch) break;
      const float s = warp_sum(acc[b]);
      if (lane == 0) y[b * p.out + r] = from_float<TW>(s);
    }
  }
}

template <typename TW, typename TX, GemvPrologue P, int W>
void launch(const DecodeGemvCudaParams& p) {
  auto* kernel = decode_gemv_kernel<TW, TX, P, W>;
  const size_t shared = static_cast<size_t>(p.batch * p.in) * sizeof(TW);
  // Past 48 KiB of dynamic shared memory a kernel must opt in, once.
  static const cudaError_t opt_in = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                                         static_cast<int>(kDecodeGemvMaxSharedBytes));
  if (opt_in != cudaSuccess && shared > 48 * 1024)
    throw std::runtime_error(std::string("decode matrix-vector product: shared memory: ") + cudaGetErrorString(opt_in));
  const int64_t blocks = std::min<int64_t>((p.out + kWarps - 1) / kWarps, int64_t(cuda_sm_count()) * kBlocksPerSm);
  const cudaError_t e = launch_dependent(kernel, dim3(static_cast<unsigned>(blocks)), dim3(kThreads), shared,
                                         static_cast<cudaStream_t>(p.stream), p);
  if (e != cudaSuccess) throw std::runtime_error(std::string("decode matrix-vector product: ") + cudaGetErrorString(e));
}

}  // namespace

bool decode_gemv_takes(int64_t batch, int64_t in, int64_t weight_element_bytes) {
  return batch >= 1 && batch <= kDecodeGemvMaxBatch && in >= 8 && in % 8 == 0 &&
         batch * in * weight_element_bytes <= kDecodeGemvMaxSharedBytes;
}

void decode_gemv_cuda(const DecodeGemvCudaParams& p) {
  if (!decode_gemv_takes(p.batch, p.in, p.weight_dtype == CudaDtype::kFloat32 ? 4 : 2))
    throw std::runtime_error("decode matrix-vector product: batch " + std::to_string(p.batch) + " x in " +
                             std::to_string(p.in) + " is outside what the kernel takes");
  if (p.prologue == GemvPrologue::kConv && (p.conv_width < 1 || p.conv_width > kConvMaxWidth))
    throw std::runtime_error("decode matrix-vector product: conv width must be in 1.." + std::to_string(kConvMaxWidth) +
                             ", got " + std::to_string(p.conv_width));
  if (p.out == 0) return;
  dispatch_dtype(p.weight_dtype, [&](auto weight_tag) {
    dispatch_dtype(p.x_dtype, [&](auto x_tag) {
      using TW = decltype(weight_tag);
      using TX = decltype(x_tag);
      switch (p.prologue) {
        case GemvPrologue::kNone:
          launch<TW, TX, GemvPrologue::kNone, 1>(p);
          break;
        case GemvPrologue::kAddRmsNorm:
          launch<TW, TX, GemvPrologue::kAddRmsNorm, 1>(p);
          break;
        case GemvPrologue::kConv:
          dispatch_int<1, 2, 3, 4>(p.conv_width,
                                   [&](auto width) { launch<TW, TX, GemvPrologue::kConv, decltype(width)::value>(p); });
          break;
      }
    });
  });
}

}  // namespace ftmamba::kernels
