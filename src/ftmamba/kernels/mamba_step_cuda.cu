// defines: the CUDA kernels of one recurrent Mamba step (see mamba_step_cuda.h).
//
// One thread owns one channel of one batch row. A decode step is a few thousand such items, so each kernel is
// one short wave: what it saves is the launches (and the round trips through memory) of the element-wise
// LibTorch kernels it replaces, not arithmetic.
#include "ftmamba/kernels/causal_conv1d_cuda.h"
#include "ftmamba/kernels/conv_window.cuh"
#include "ftmamba/kernels/cuda_common.cuh"
#include "ftmamba/kernels/dependent_launch.cuh"
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
  const T newest = static_cast<const T*>(p.x_in)[b * p.x_stride + c];
  const float x = conv_window_silu<T, W>(state, p.channels, newest, p.weight, p.bias, c);
  advance_window<T, W>(state, p.channels, newest);
  static_cast<T*>(p.out)[i] = from_float<T>(x);
}

// W: the conv's width when the step does the conv first (p.conv_state), else 0.
template <typename T, typename TW, int W>
__global__ void __launch_bounds__(kThreads) ssm_step_kernel(const SsmStepCudaParams p) {
  wait_for_previous_kernel();
  allow_next_kernel();
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
  float x;
  if constexpr (W > 0) {
    T* window = static_cast<T*>(p.conv_state) + b * (W - 1) * p.channels + c;
    const T newest = static_cast<const T*>(p.conv_x_in)[b * p.conv_x_stride + c];
    x = to_float(from_float<T>(conv_window_silu<T, W>(window, p.channels, newest, p.conv_weight, p.conv_bias, c)));
    advance_window<T, W>(window, p.channels, newest);
  } else {
    x = to_float(static_cast<const T*>(p.x)[i]);
  }
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
  if (p.conv_state && (p.conv_width < 1 || p.conv_width > kConvMaxWidth))
    throw std::runtime_error("SSM step (CUDA): conv width must be in 1.." + std::to_string(kConvMaxWidth) + ", got " +
                             std::to_string(p.conv_width));
  if (p.batch * p.channels == 0) return;
  const auto stream = static_cast<cudaStream_t>(p.stream);
  cudaError_t e = cudaSuccess;
  dispatch_dtype(p.dtype, [&](auto dtype_tag) {
    dispatch_dtype(p.dt_weight_dtype, [&](auto weight_tag) {
      dispatch_int<0, 1, 2, 3, 4>(p.conv_state ? p.conv_width : 0, [&](auto width) {
        e = launch_dependent(ssm_step_kernel<decltype(dtype_tag), decltype(weight_tag), decltype(width)::value>,
                             dim3(blocks_for(p.batch * p.channels)), dim3(kThreads), 0, stream, p);
      });
    });
  });
  if (e != cudaSuccess) throw std::runtime_error(std::string("SSM step: ") + cudaGetErrorString(e));
}

}  // namespace ftmamba::kernels
