// defines: the CUDA depthwise causal conv1d, forward and backward (see causal_conv1d_cuda.h).
//
// A thread owns one channel of one segment of kSegment steps of one batch row, so neighbouring threads
// read neighbouring addresses; the width-1 inputs before a segment are re-read from cache. The backward
// walks its segment backwards with the last `width` pre-activation gradients in registers, and keeps its
// dweight / dbias sums in registers across the (row, segment) items it visits; one partial per grid row
// goes out and the caller sums them (deterministic, no atomics).
#include <algorithm>

#include "ftmamba/kernels/causal_conv1d_cuda.h"
#include "ftmamba/kernels/cuda_common.cuh"

namespace ftmamba::kernels {
namespace {

constexpr int kThreads = 128;
constexpr int kSegment = 32;
constexpr int64_t kMaxGridY = 65535;

struct Channel {
  int64_t c;
  bool active;
  __device__ Channel(int64_t channels) : c(int64_t(blockIdx.x) * kThreads + threadIdx.x), active(c < channels) {}
  // This channel's kernel into w; returns its bias (0 without one).
  template <int W>
  __device__ float load_weights(const CausalConv1dCudaParams& p, float (&w)[W]) const {
#pragma unroll
    for (int k = 0; k < W; ++k) w[k] = p.weight[c * W + k];
    return p.bias ? p.bias[c] : 0.f;
  }
};

// Inputs x[t - W + 1 .. t] of one channel (zero before t = 0) into xw[0 .. W-1].
template <typename T, int W>
__device__ __forceinline__ void load_window(const T* x, int64_t l_stride, int64_t t, float (&xw)[W]) {
#pragma unroll
  for (int k = 0; k < W; ++k) {
    const int64_t ts = t - (W - 1) + k;
    xw[k] = ts >= 0 ? load_float(x + ts * l_stride) : 0.f;
  }
}

template <typename T, int W>
__global__ void __launch_bounds__(kThreads) conv_fwd_kernel(const CausalConv1dCudaParams p) {
  const Channel ch(p.channels);
  if (!ch.active) return;
  float w[W];
  const float bias = ch.load_weights(p, w);
  const int64_t n_seg = (p.seqlen + kSegment - 1) / kSegment;
  for (int64_t item = blockIdx.y; item < p.batch * n_seg; item += gridDim.y) {
    const int64_t b = item / n_seg, t_begin = (item % n_seg) * kSegment;
    const int64_t t_end = min(p.seqlen, t_begin + kSegment);
    const T* x = static_cast<const T*>(p.x) + b * p.x_batch_stride + ch.c;
    T* out = static_cast<T*>(p.out) + b * p.seqlen * p.channels + ch.c;
    for (int64_t t = t_begin; t < t_end; ++t) {
      float xw[W];
      load_window<T, W>(x, p.x_l_stride, t, xw);
      float acc = bias;
#pragma unroll
      for (int k = 0; k < W; ++k) acc += w[k] * xw[k];
      if (p.silu) acc *= sigmoidf(acc);
      out[t * p.channels] = from_float<T>(acc);
    }
  }
}

template <typename T, int W>
__global__ void __launch_bounds__(kThreads)
    conv_bwd_kernel(const CausalConv1dCudaParams p, const CausalConv1dCudaGrads g) {
  const Channel ch(p.channels);
  if (!ch.active) return;
  float w[W];
  const float bias = ch.load_weights(p, w);
  const int64_t n_seg = (p.seqlen + kSegment - 1) / kSegment;
  float dw[W] = {}, db = 0.f;
  for (int64_t item = blockIdx.y; item < p.batch * n_seg; item += gridDim.y) {
    const int64_t b = item / n_seg, t_begin = (item % n_seg) * kSegment;
    const int64_t t_end = min(p.seqlen, t_begin + kSegment);
    const T* x = static_cast<const T*>(p.x) + b * p.x_batch_stride + ch.c;
    const int64_t row = b * p.seqlen * p.channels + ch.c;
    const T* dout = static_cast<const T*>(g.dout) + row;
    T* dx = static_cast<T*>(g.dx) + row;
    // Gradient at the pre-activation of step t (zero past the end of the sequence).
    auto dpre_at = [&](int64_t t, float(&xw)[W]) {
      load_window<T, W>(x, p.x_l_stride, t, xw);
      const float dy = load_float(dout + t * p.channels);
      if (!p.silu) return dy;
      float pre = bias;
#pragma unroll
      for (int k = 0; k < W; ++k) pre += w[k] * xw[k];
      const float sig = sigmoidf(pre);
      return dy * sig * (1.f + pre * (1.f - sig));
    };
    // Inside the loop dnext[j] = dpre[t + j]. Before it, dnext[j] = dpre[t_end + j] for j < W - 1: the
    // steps just after the segment (they belong to the next one; zero past the end of the sequence).
    float dnext[W] = {};
#pragma unroll
    for (int j = 0; j + 1 < W; ++j) {
      const int64_t t = t_end + j;
      float xw[W];
      dnext[j] = t < p.seqlen ? dpre_at(t, xw) : 0.f;
    }
    for (int64_t t = t_end - 1; t >= t_begin; --t) {
#pragma unroll
      for (int j = W - 1; j > 0; --j) dnext[j] = dnext[j - 1];
      float xw[W];
      dnext[0] = dpre_at(t, xw);
      float acc = 0.f;  // dx[t] = sum_k w[k] dpre[t + W - 1 - k]
#pragma unroll
      for (int k = 0; k < W; ++k) acc += w[k] * dnext[W - 1 - k];
      dx[t * p.channels] = from_float<T>(acc);
#pragma unroll
      for (int k = 0; k < W; ++k) dw[k] += dnext[0] * xw[k];
      db += dnext[0];
    }
  }
#pragma unroll
  for (int k = 0; k < W; ++k) g.dweight_part[(int64_t(blockIdx.y) * p.channels + ch.c) * W + k] = dw[k];
  if (g.dbias_part) g.dbias_part[int64_t(blockIdx.y) * p.channels + ch.c] = db;
}

void check_params(const CausalConv1dCudaParams& p) {
  if (p.width < 1 || p.width > kConvMaxWidth)
    throw std::runtime_error("causal_conv1d (CUDA): width must be in 1.." + std::to_string(kConvMaxWidth) + ", got " +
                             std::to_string(p.width));
}

int64_t channel_blocks(const CausalConv1dCudaParams& p) { return (p.channels + kThreads - 1) / kThreads; }
int64_t work_items(const CausalConv1dCudaParams& p) { return p.batch * ((p.seqlen + kSegment - 1) / kSegment); }

}  // namespace

int64_t causal_conv1d_bwd_groups(const CausalConv1dCudaParams& p) {
  const int64_t want =
      (int64_t(cuda_sm_count()) * 16 + channel_blocks(p) - 1) / std::max<int64_t>(1, channel_blocks(p));
  return std::max<int64_t>(1, std::min({work_items(p), want, kMaxGridY}));
}

void causal_conv1d_fwd_cuda(const CausalConv1dCudaParams& p) {
  check_params(p);
  if (p.channels == 0 || work_items(p) == 0) return;
  const dim3 grid(static_cast<unsigned>(channel_blocks(p)), static_cast<unsigned>(std::min(work_items(p), kMaxGridY)));
  const auto stream = static_cast<cudaStream_t>(p.stream);
  dispatch_dtype(p.dtype, [&](auto dtype_tag) {
    dispatch_int<1, 2, 3, 4>(p.width, [&](auto width) {
      conv_fwd_kernel<decltype(dtype_tag), decltype(width)::value><<<grid, kThreads, 0, stream>>>(p);
    });
  });
  check_launch("causal_conv1d forward");
}

void causal_conv1d_bwd_cuda(const CausalConv1dCudaParams& p, const CausalConv1dCudaGrads& g) {
  check_params(p);
  if (p.channels == 0) return;
  const int64_t groups = causal_conv1d_bwd_groups(p);
  const auto stream = static_cast<cudaStream_t>(p.stream);
  if (work_items(p) == 0) {
    cudaMemsetAsync(g.dweight_part, 0, sizeof(float) * groups * p.channels * p.width, stream);
    if (g.dbias_part) cudaMemsetAsync(g.dbias_part, 0, sizeof(float) * groups * p.channels, stream);
    check_launch("causal_conv1d backward");
    return;
  }
  const dim3 grid(static_cast<unsigned>(channel_blocks(p)), static_cast<unsigned>(groups));
  dispatch_dtype(p.dtype, [&](auto dtype_tag) {
    dispatch_int<1, 2, 3, 4>(p.width, [&](auto width) {
      conv_bwd_kernel<decltype(dtype_tag), decltype(width)::value><<<grid, kThreads, 0, stream>>>(p, g);
    });
  });
  check_launch("causal_conv1d backward");
}

}  // namespace ftmamba::kernels
