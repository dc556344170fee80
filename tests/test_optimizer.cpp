// defines: the CPU test of MultiTensorAdamW (the GPU training step's optimizer) against LibTorch's AdamW
// with clip_grad_norm_, in float64 (the GPU version of the same check is in test_cuda_kernels.cpp).
#include <gtest/gtest.h>

#include "optimizer_check.h"

TEST(MultiTensorAdamW, MatchesLibTorchAdamWWithClippingAndGroups) {
  EXPECT_LT(ftmamba::test::multi_tensor_adamw_max_difference(torch::kCPU, torch::kFloat64), 1e-12);
}

TEST(MultiTensorAdamW, NonFiniteStepsAreSkippedAndChangeNothing) {
  EXPECT_EQ(ftmamba::test::nonfinite_steps_change_nothing(torch::kCPU), 0.0);
}
