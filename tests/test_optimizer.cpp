// defines: tests of the optimizer pieces: MultiTensorAdamW (the GPU training step's optimizer) against
// LibTorch's AdamW with clip_grad_norm_, in float64 on the CPU; the no-decay parameter names.
#include <gtest/gtest.h>

#include "ftmamba/train/optimizer.h"
#include "optimizer_check.h"

TEST(MultiTensorAdamW, MatchesLibTorchAdamWWithClippingAndGroups) {
  EXPECT_LT(ftmamba::test::multi_tensor_adamw_max_difference(torch::kCPU, torch::kFloat64), 1e-12);
}

TEST(Optimizer, NoDecayGroupByName) {
  using ftmamba::train::is_no_decay_parameter;
  EXPECT_TRUE(is_no_decay_parameter("user_tower.layers.0.mixer.dt_proj.bias"));
  EXPECT_TRUE(is_no_decay_parameter("user_tower.layers.0.mixer.A_log"));
  EXPECT_TRUE(is_no_decay_parameter("item_tower.norm_f.weight"));
  EXPECT_FALSE(is_no_decay_parameter("user_tower.layers.0.mixer.in_proj.weight"));
}
