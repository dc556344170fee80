// defines: tests of split_last: its slices are narrow()'s views, and its backward gives narrow()'s gradient
// (float64), also when a slice takes no part in the loss.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ftmamba/ops/split_last.h"

namespace {

using torch::Tensor;

TEST(SplitLast, SlicesAreViewsOfTheLastDimension) {
  const Tensor t = torch::randn({2, 3, 9}, torch::kFloat64);
  const auto parts = ftmamba::ops::split_last(t, {2, 3, 4});
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_TRUE(torch::equal(parts[0], t.narrow(-1, 0, 2)));
  EXPECT_TRUE(torch::equal(parts[1], t.narrow(-1, 2, 3)));
  EXPECT_TRUE(torch::equal(parts[2], t.narrow(-1, 5, 4)));
  EXPECT_EQ(parts[1].data_ptr<double>(), t.data_ptr<double>() + 2);  // no copy
  EXPECT_EQ(parts[2].stride(1), 9);
}

TEST(SplitLast, BackwardEqualsNarrowsIncludingUnusedSlices) {
  torch::manual_seed(3);
  const Tensor base = torch::randn({4, 5, 7}, torch::kFloat64);
  const Tensor w0 = torch::randn({4, 5, 3}, torch::kFloat64), w2 = torch::randn({4, 5, 1}, torch::kFloat64);
  for (bool use_middle : {true, false}) {
    const Tensor a = base.clone().requires_grad_(true), b = base.clone().requires_grad_(true);
    const auto parts = ftmamba::ops::split_last(a, {3, 3, 1});
    Tensor loss_a = (parts[0] * w0).sum() + (parts[2] * w2).sum();
    Tensor loss_b = (b.narrow(-1, 0, 3) * w0).sum() + (b.narrow(-1, 6, 1) * w2).sum();
    if (use_middle) {
      loss_a = loss_a + parts[1].pow(2).sum();
      loss_b = loss_b + b.narrow(-1, 3, 3).pow(2).sum();
    }
    loss_a.backward();
    loss_b.backward();
    EXPECT_TRUE(torch::allclose(a.grad(), b.grad(), 0, 0)) << "use_middle " << use_middle;
    EXPECT_GT(a.grad().abs().sum().item<double>(), 0.0);
    if (!use_middle) {
      EXPECT_EQ(a.grad().narrow(-1, 3, 3).abs().max().item<double>(), 0.0);
    }
  }
}

TEST(SplitLast, RejectsWidthsThatDoNotCoverTheDimension) {
  const Tensor t = torch::randn({2, 5});
  EXPECT_THROW(ftmamba::ops::split_last(t, {2, 2}), c10::Error);
  EXPECT_THROW(ftmamba::ops::split_last(t, {6, -1}), c10::Error);
}

}  // namespace
