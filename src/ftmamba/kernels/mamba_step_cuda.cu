// defines: the CUDA kernels of one recurrent Mamba step (see mamba_step_cuda.h).
//
// One thread owns one channel of one batch row. A decode step is a few thousand such items, so each kernel is
// one short wave: what it saves is the launches (and the round trips through memory) of the element-wise
// LibTorch kernels it replaces, not arithmetic.
#include "ftmamba/kernels/causal_conv1d_cuda.h"
#include "ftmamba/kernels/cuda_common.cuh"
#include "ftmamba/kernels/mamba_step_cuda.h"

namespace ftmamba::kernels {
namespace {

constexpr int kThreads = 128;

unsigned blocks_for(int64_t items) { return static_cast<unsigned>((items + kThreads - 1) / kThreads); }

template <typename T, int W>
__global__ void __launch_bounds__(kThreads) conv_step_kernel(const ConvStepCudaParams p) {
  const int64_t i = int64_t(blockIdx.x) * kThreads + threadIdx.x;
  if (i >= p.batch * p.channels) return;
  const int64_t b = i / p.channels, c = i % p.channels;
  T* state = static_cast<T*>(p.conv_state) + b * (W - 1) * p.channels + c;  // (W - 1) rows, stride channels
  T window[W];
#pragma unroll
  for (int k = 0; k + 1 < W; ++k) window[k] = state[k * p.channels];
  window[W - 1] = static_cast<const T*>(p.x_in)[b * p.x_stride + c];
  float acc = p.bias ? p.bias[c] : 0.f;
#pragma unroll
  for (int k = 0; k < W; ++k) acc += p.weight[c * W + k] * to_float(window[k]);
    // The window moves by one: the oldest input leaves, the new one is kept as it came (no rounding).
#pragma unroll
  for (int k = 0; k + 1 < W; ++k) state[k * p.channels] = window[k + 1];
  static_cast<T*>(p.out)[i] = from_float<T>(acc * sigmoidf(acc));
}

// softplus as torch computes it (threshold 20: above it, x itself).
__device__ __forceinline__ float softplusf(float x) { return x > 20.f ? x : log1pf(__expf(x)); }

template <typename T, typename TW>
__global__ void __launch_bounds__(kThreads) ssm_step_kernel(const SsmStepCudaParams p) {
  const int64_t i = int64_t(blockIdx.x) * kThreads + threadIdx.x;
  if (i >= p.batch * p.channels) return;
  const int64_t b = i / p.channels, c = i % p.channels;
  const T* dbl = static_cast<const T*>(p.x_dbl) + b * p.x_dbl_stride;  // dt (rank) | B (d_state) | C (d_state)
  float dt = p.dt_bias[c];
  if (p.dt_weight) {
    const TW* w = static_cast<const TW*>(p.dt_weight) + c * p.rank;
    for (int64_t j = 0; j < p.rank; ++j) dt += to_float(w[j]) * to_float(dbl[j]);
  } else {
    dt += to_float(static_cast<const T*>(p.delta)[i]);
  }
  dt = softplusf(dt);
  const float x = to_float(static_cast<const T*>(p.x)[i]);
  const float z = to_float(static_cast<const T*>(p.z)[b * p.z_stride + c]);
  const float* A_log = p.A_log + c * p.d_state;
  float* h = p.state + i * p.d_state;
  const T* B = dbl + p.rank;
  const T* C = B + p.d_state;
  float y = 0.f;
  for (int64_t n = 0; n < p.d_state; ++n) {
    const float hn = __expf(-__expf(A_log[n]) * dt) * h[n] + dt * x * to_float(B[n]);
    h[n] = hn;
    y += hn * to_float(C[n]);
  }
  y += p.D[c] * x;
  static_cast<T*>(p.out)[i] = from_float<T>(y * z * sigmoidf(z));
}

}  // namespace

void conv_step_cuda(const ConvStepCudaParams& p) {
  if (p.width < 1 || p.width > kConvMaxWidth)
    throw std::runtime_error("conv step (CUDA): width must be in 1.." + std::to_string(kConvMaxWidth) + ", got " +
                             std::to_string(p.width));
  if (p.batch * p.channels == 0) return;
  const auto stream = static_cast<cudaStream_t>(p.stream);
  dispatch_dtype(p.dtype, [&](auto dtype_tag) {
    dispatch_int<1, 2, 3, 4>(p.width, [&](auto width) {
      conv_step_kernel<decltype(dtype_tag), decltype(width)::value>
          <<<blocks_for(p.batch * p.channels), kThreads, 0, stream>>>(p);
    });
  });
  check_launch("conv step");
}

void ssm_step_cuda(const SsmStepCudaParams& p) {
  if (p.batch * p.channels == 0) return;
  const auto stream = static_cast<cudaStream_t>(p.stream);
  dispatch_dtype(p.dtype, [&](auto dtype_tag) {
    dispatch_dtype(p.dt_weight_dtype, [&](auto weight_tag) {
      ssm_step_kernel<decltype(dtype_tag), decltype(weight_tag)>
          <<<blocks_for(p.batch * p.channels), kThreads, 0, stream>>>(p);
    });
  });
  check_launch("SSM step");
}

}  // namespace ftmamba::kernels
