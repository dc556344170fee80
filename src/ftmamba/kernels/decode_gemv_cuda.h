// defines: the CUDA matrix-vector product of a decode step, over raw pointers: y = W x for a few rows x, with the
// work that comes just before it on the same input done in the same kernel (its prologue):
//   kNone:       x as given;
//   kAddRmsNorm: x = rms_norm(residual + delta) * norm_weight (the residual add and the layer's norm; the sum is
//                also written to residual_out);
//   kConv:       x = silu(conv window . conv_weight + conv_bias), the causal conv of a new token over its window
//                (the window is read, not advanced: the SSM step advances it).
// At batch 1 a decode step is a chain of such products, each bound by reading its weight once; what costs beyond
// that is the gap between kernels. So each kernel reads its first weight rows before it waits for the kernel
// before it (programmatic dependent launch, sm_90), and does that kernel's follower's small work itself.
// ops/decode_linear.h holds the LibTorch references. No ATen or CUDA headers here.
#pragma once
#include <cstdint>

#include "ftmamba/kernels/cuda_common.h"

namespace ftmamba::kernels {

enum class GemvPrologue : int { kNone = 0, kAddRmsNorm = 1, kConv = 2 };

// The largest batch the kernel takes: each block holds its x rows in shared memory, in the weight's dtype. Each
// weight element costs a conversion and a shared-memory read per row, so past a few rows that work outgrows the
// weight's read (at 16 rows, in_proj's 4M bf16 weights: about 4-9 us of it against 2.8 us of reading, and the
// 370M decode at batch 16 ran 1.2-1.65x slower than a peer on cuBLAS); tensor-core GEMMs take larger batches.
constexpr int64_t kDecodeGemvMaxBatch = 4;
// The most shared memory those rows may take: batch * in * the weight's element size.
constexpr int64_t kDecodeGemvMaxSharedBytes = 96 * 1024;

// weight: (out, in) in weight_dtype, contiguous, 16-byte aligned, in a multiple of 8
// y: (batch, out) in weight_dtype, contiguous. x is rounded to weight_dtype before the product (as a product in
// weight_dtype reads it); the sums are float32.
// kNone:       x: (batch, in) in x_dtype, row stride x_stride
// kAddRmsNorm: x: the residual, (batch, in) float32, row stride x_stride; delta: (batch, in) in x_dtype, contiguous,
//              or null; norm_weight: (in) float32; residual_out: (batch, in) float32, contiguous, not x
// kConv:       x: the conv's newest input, (batch, in) in x_dtype, row stride x_stride; conv_state: (batch,
//              conv_width - 1, in) in x_dtype, contiguous, oldest first; conv_weight: (in, conv_width) float32;
//              conv_bias: (in) float32 or null. The conv's output is rounded to x_dtype (the activations' dtype).
struct DecodeGemvCudaParams {
  int64_t batch = 0, in = 0, out = 0;
  CudaDtype weight_dtype = CudaDtype::kFloat32, x_dtype = CudaDtype::kFloat32;
  GemvPrologue prologue = GemvPrologue::kNone;
  const void* weight = nullptr;
  const void* x = nullptr;
  int64_t x_stride = 0;
  void* y = nullptr;
  const void* delta = nullptr;
  const float* norm_weight = nullptr;
  float eps = 1e-5f;
  float* residual_out = nullptr;
  const void* conv_state = nullptr;
  const float* conv_weight = nullptr;
  const float* conv_bias = nullptr;
  int64_t conv_width = 0;
  void* stream = nullptr;  // cudaStream_t
};

// Whether the kernel takes these sizes (batch, in, the weight's element size; its alignment aside).
bool decode_gemv_takes(int64_t batch, int64_t in, int64_t weight_element_bytes);

// Throws std::runtime_error on sizes it does not take or a launch failure.
void decode_gemv_cuda(const DecodeGemvCudaParams& p);

}  // namespace ftmamba::kernels
