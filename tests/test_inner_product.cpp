// defines: tests of inner_product_cpu (the item search's scoring kernel) against LibTorch's dot: float64 and
// float32 over every length from 0 to 130 (full vectors, the four-accumulator blocks and every tail) and at
// unaligned offsets, on every CPU kernel path this machine supports.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "cpu_paths.h"
#include "ftmamba/kernels/inner_product_cpu.h"

namespace {

class InnerProduct : public CpuPathTest {};
FTMAMBA_INSTANTIATE_CPU_PATHS(InnerProduct);

template <typename T>
void check_lengths(torch::Dtype dtype, double tolerance) {
  torch::manual_seed(7);
  // One element past the start, so that no load is aligned to the vector width.
  const auto a = torch::randn({140}, torch::dtype(dtype));
  const auto b = torch::randn({140}, torch::dtype(dtype));
  for (int64_t n = 0; n <= 130; ++n) {
    const auto x = a.narrow(0, 1, n), y = b.narrow(0, 3, n);
    const double expected = torch::dot(x.to(torch::kFloat64), y.to(torch::kFloat64)).item<double>();
    const double got = ftmamba::kernels::inner_product_cpu(x.data_ptr<T>(), y.data_ptr<T>(), n);
    EXPECT_NEAR(got, expected, tolerance * (1 + std::abs(expected))) << "n " << n;
  }
}

TEST_P(InnerProduct, MatchesDotInFloat64AtEveryLength) { check_lengths<double>(torch::kFloat64, 1e-13); }

TEST_P(InnerProduct, MatchesDotInFloat32AtEveryLength) { check_lengths<float>(torch::kFloat32, 1e-5); }

TEST_P(InnerProduct, EmptyAndNegativeLengthsAreZero) {
  const float a[1] = {2}, b[1] = {3};
  EXPECT_EQ(ftmamba::kernels::inner_product_cpu(a, b, 0), 0.0F);
  EXPECT_EQ(ftmamba::kernels::inner_product_cpu(a, b, -4), 0.0F);
  EXPECT_EQ(ftmamba::kernels::inner_product_cpu(a, b, 1), 6.0F);
}

TEST_P(InnerProduct, SameInputsGiveTheSameBits) {
  torch::manual_seed(3);
  const auto a = torch::randn({257}), b = torch::randn({257});
  const float first = ftmamba::kernels::inner_product_cpu(a.data_ptr<float>(), b.data_ptr<float>(), 257);
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(ftmamba::kernels::inner_product_cpu(a.data_ptr<float>(), b.data_ptr<float>(), 257), first);
}

}  // namespace
