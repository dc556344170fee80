// defines: FTMAMBA_DECLARE_CPU_PATH(ns), the entry points of one instruction-set path of the CPU kernels,
// declared in namespace ftmamba::kernels::ns.
// The SIMD kernel sources (selective_scan_cpu.cpp, causal_conv1d_cpu.cpp,
// inner_product_cpu.cpp) are compiled once per path, each
// time with that path's -march and with FTMAMBA_KERNEL_ISA naming the path (x86_64_v2, avx2, avx512; build
// in a build without run-time dispatch), and define these entry points in its namespace. Everything they
// and their headers (cpu_simd.h, cpu_math.h, cpu_work_split.h) define lives there too, so no inline function
// compiled for one path can stand in for another's at link time. cpu_isa.cpp calls the chosen path.
#pragma once

#include "ftmamba/kernels/causal_conv1d_cpu.h"
#include "ftmamba/kernels/inner_product_cpu.h"
#include "ftmamba/kernels/selective_scan_cpu.h"

#define FTMAMBA_DECLARE_CPU_PATH(ns)                                                                                \
  namespace ftmamba::kernels::ns {                                                                                  \
  void selective_scan_fwd_cpu(const SelectiveScanParams<float>& p);                                                 \
  void selective_scan_fwd_cpu(const SelectiveScanParams<double>& p);                                                \
  void selective_scan_bwd_cpu(const SelectiveScanParams<float>& p, const SelectiveScanGrads<float>& g);             \
  void selective_scan_bwd_cpu(const SelectiveScanParams<double>& p, const SelectiveScanGrads<double>& g);           \
  void selective_scan_fwd_cpu(const SelectiveScanParams<float, Bf16>& p);                                           \
  void selective_scan_bwd_cpu(const SelectiveScanParams<float, Bf16>& p, const SelectiveScanGrads<float, Bf16>& g); \
  void causal_conv1d_fwd_cpu(const CausalConv1dParams<float>& p);                                                   \
  void causal_conv1d_fwd_cpu(const CausalConv1dParams<double>& p);                                                  \
  void causal_conv1d_bwd_cpu(const CausalConv1dParams<float>& p, const CausalConv1dGrads<float>& g);                \
  void causal_conv1d_bwd_cpu(const CausalConv1dParams<double>& p, const CausalConv1dGrads<double>& g);              \
  void causal_conv1d_fwd_cpu(const CausalConv1dParams<float, Bf16>& p);                                             \
  void causal_conv1d_bwd_cpu(const CausalConv1dParams<float, Bf16>& p, const CausalConv1dGrads<float, Bf16>& g);    \
  float inner_product_cpu(const float* a, const float* b, int64_t n);                                               \
  double inner_product_cpu(const double* a, const double* b, int64_t n);                                            \
  }
