// defines: linear_rows, linear() for the few rows of a decode step, one row as a matrix-vector product.
#pragma once
#include <torch/torch.h>

namespace ftmamba::ops {

// linear(x, weight, bias) for x (rows, in) -> (rows, out); one row as a matrix-vector product (x cast to the
// weight's dtype). LibTorch 1.13 runs linear() of a (1, in) matrix as sgemm, which repacks the whole weight on every
// call (sgemm_incopy was 60% of decode time in perf at the 130M shape), and of a vector as a (1, in) mm too; mv runs
// sgemv.
torch::Tensor linear_rows(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias = {});

}  // namespace ftmamba::ops
