// defines: device code the selective scan's forward and backward kernels share: the fast exp2 / log2 /
// sigmoid and the softplus time step, the lane and row-input views of a thread, the staging-loop test, and
// the host-side lane dispatch. Included by selective_scan_cuda_{fwd,bwd}.cu only.
#pragma once
#include <cstdint>

#include "ftmamba/kernels/cuda_common.cuh"
#include "ftmamba/kernels/selective_scan_cuda.h"
#include "ftmamba/kernels/selective_scan_cuda_plan.h"

namespace ftmamba::kernels {

constexpr float kLog2e = 1.4426950408889634f;

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

// dt = softplus(x) (threshold 20, as torch / mamba_ssm) or x itself; d_dx = d dt / dx. The same
// approximations as __logf(1 + __expf(x)), on their flush-to-zero forms: the per-(step, channel) work of the
// scans' loaders is mostly these.
__device__ __forceinline__ float time_step(float x, bool softplus, float* d_dx = nullptr) {
  constexpr float kLn2 = 0.6931471805599453f;
  const bool soft = softplus && x <= 20.f;
  if (d_dx) *d_dx = soft ? fast_sigmoid(x) : 1.f;
  return soft ? fast_log2(1.f + fast_exp2(kLog2e * x)) * kLn2 : x;
}

// Whether element threadIdx.x + j kScanThreads of a block-wide staging loop lies at or past element kAt (in C's
// half of a B-then-C buffer, or past its end). Known at compile time when the block covers the elements
// before kAt in whole rounds, as at the LM and tabular shapes.
template <int kAt>
__device__ __forceinline__ bool staging_at_or_past(int j) {
  if constexpr (kAt % kScanThreads == 0)
    return j * kScanThreads >= kAt;
  else
    return threadIdx.x + j * kScanThreads >= static_cast<unsigned>(kAt);
}

// Thread coordinates shared by both kernels: TPC lanes per channel, S states per lane.
template <int TPC, int S>
struct Lane {
  int slice;    // which S-wide slice of the states this lane holds
  int64_t d;    // channel
  bool active;  // d < dim; inactive lanes still join every shuffle, with zero inputs
  int64_t dd;   // a channel safe to form addresses with
  int n0;       // first state of the slice
  __device__ Lane(int64_t dim) {
    slice = threadIdx.x % TPC;
    d = int64_t(blockIdx.x) * (kScanThreads / TPC) + threadIdx.x / TPC;
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

// A plan's grid as CUDA's dim3 (the plan keeps every extent within CUDA's limits).
inline dim3 to_dim3(const ScanGrid& g) {
  return dim3(static_cast<unsigned>(g.x), static_cast<unsigned>(g.y), static_cast<unsigned>(g.z));
}

}  // namespace ftmamba::kernels
