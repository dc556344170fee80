// ops::linear_rows, add_rms_norm_linear and conv_linear, the matrix products of a decode step: their LibTorch
// references in float64 against the products written out (x W^T, the norm, the conv), leaving their inputs as they
// were; and (on a GPU) the kernel against the references on random inputs of odd sizes, float32 and bfloat16
// weights, strided rows, every conv width, and a batch past what the kernel takes (the ops with kernels of their
// own then).
#include <gtest/gtest.h>

#include <string>

#include "ftmamba/ops/add_rms_norm.h"
#include "ftmamba/ops/decode_linear.h"
#include "ftmamba/ops/mamba_step.h"
#include "gpu_skip.h"

namespace ops = ftmamba::ops;

namespace {

const auto kF64 = torch::TensorOptions().dtype(torch::kFloat64);

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

}  // namespace

TEST(DecodeLinearReference, EqualsTheProductsWrittenOut) {
  torch::manual_seed(3);
  const auto w = torch::randn({5, 8}, kF64), bias = torch::randn({5}, kF64);
  for (const int64_t rows : {1, 3}) {  // one row: a matrix-vector product; more: linear
    const auto x = torch::randn({rows, 8}, kF64);
    const auto want = torch::matmul(x, w.t());
    EXPECT_LT(max_diff(ops::linear_rows_reference(x, w), want), 1e-14) << rows;
    EXPECT_LT(max_diff(ops::linear_rows_reference(x, w, bias), want + bias), 1e-14) << rows;
    EXPECT_LT(max_diff(ops::linear_rows(x, w), want), 1e-14) << rows;
  }
  // The norm's product: the residual plus delta, its RMS norm, then W; the given residual is left as it was.
  const auto residual = torch::randn({2, 8}, kF64), delta = torch::randn({2, 8}, kF64);
  const auto norm_w = torch::rand({8}, kF64) + 0.5;
  const auto before = residual.clone();
  const auto got = ops::add_rms_norm_linear(residual, delta, norm_w, 1e-5, w);
  const auto sum = before + delta;
  const auto normed = sum / torch::sqrt(sum.pow(2).mean(-1, true) + 1e-5) * norm_w;
  EXPECT_LT(max_diff(got.residual, sum), 1e-15);
  EXPECT_LT(max_diff(got.out, torch::matmul(normed, w.t())), 1e-13);
  EXPECT_TRUE(torch::equal(residual, before));
  // The conv's product: silu(bias + sum_k w[c, k] window[k]) over the window and the new input, then W; the window
  // is read, not advanced.
  const int64_t width = 3;
  const auto x_in = torch::randn({2, 8}, kF64), window = torch::randn({2, width - 1, 8}, kF64);
  const auto conv_w = torch::randn({8, width}, kF64), conv_b = torch::randn({8}, kF64);
  const auto window_before = window.clone();
  const auto full = torch::cat({window, x_in.unsqueeze(1)}, 1);  // (2, width, 8)
  const auto conv = torch::silu((full * conv_w.t().unsqueeze(0)).sum(1) + conv_b);
  EXPECT_LT(max_diff(ops::conv_linear(x_in, window, conv_w, conv_b, w), torch::matmul(conv, w.t())), 1e-13);
  EXPECT_TRUE(torch::equal(window, window_before));
}

TEST(DecodeLinearKernel, CudaEqualsTheReferenceOnOddSizes) {
  SKIP_WITHOUT_GPU();
  const auto cuda = torch::TensorOptions().device(torch::kCUDA);
  struct Case {
    int64_t batch, in, out;
  };
  for (const Case c : {Case{1, 8, 1}, Case{1, 1032, 97}, Case{3, 24, 1000}, Case{4, 2056, 37}, Case{1, 1024, 50280},
                       Case{16, 1024, 96}}) {  // batch 16: past the kernel, the ops with kernels of their own
    for (const auto wdtype : {torch::kFloat32, torch::kBFloat16}) {
      torch::manual_seed(c.in + c.out);
      const std::string where = "batch " + std::to_string(c.batch) + " in " + std::to_string(c.in) + " out " +
                                std::to_string(c.out) + " " + c10::toString(wdtype);
      const double tol = wdtype == torch::kFloat32 ? 1e-5 : 1e-2;
      const auto w = (torch::randn({c.out, c.in}, cuda.dtype(torch::kFloat32)) / std::sqrt(double(c.in))).to(wdtype);
      // x as a strided view: the rows of a wider tensor, as in_proj's x half is.
      const auto wide = torch::randn({c.batch, c.in + 5}, cuda.dtype(wdtype));
      const auto x = wide.narrow(1, 2, c.in);
      const auto ref = ops::linear_rows_reference(x, w), got = ops::linear_rows(x, w);
      ASSERT_EQ(got.scalar_type(), wdtype) << where;
      EXPECT_LT(max_diff(ref, got), tol * ref.to(torch::kFloat32).abs().max().item<float>()) << where;

      const auto residual = torch::randn({c.batch, c.in}, cuda.dtype(torch::kFloat32)) * 2;
      const auto delta = torch::randn({c.batch, c.in}, cuda.dtype(wdtype));
      const auto norm_w = torch::rand({c.in}, cuda.dtype(torch::kFloat32)) + 0.5;
      for (const bool with_delta : {true, false}) {
        const auto d = with_delta ? delta : torch::Tensor();
        const auto r = ops::add_rms_norm_linear_reference(residual, d, norm_w, 1e-5, w);
        const auto g = ops::add_rms_norm_linear(residual, d, norm_w, 1e-5, w);
        EXPECT_LT(max_diff(r.residual, g.residual), 1e-6) << where << " norm";
        EXPECT_LT(max_diff(r.out, g.out), tol * r.out.to(torch::kFloat32).abs().max().item<float>()) << where;
      }

      for (int64_t width = 1; width <= 4; ++width) {
        const auto window = torch::randn({c.batch, width - 1, c.in}, cuda.dtype(wdtype));
        const auto conv_w = torch::randn({c.in, width}, cuda.dtype(torch::kFloat32)) * 0.5;
        const auto conv_b = width % 2 ? torch::randn({c.in}, cuda.dtype(torch::kFloat32)) : torch::Tensor();
        const auto before = window.clone();
        const auto r = ops::conv_linear_reference(x, window, conv_w, conv_b, w);
        const auto g = ops::conv_linear(x, window, conv_w, conv_b, w);
        EXPECT_LT(max_diff(r, g), tol * r.to(torch::kFloat32).abs().max().item<float>()) << where << " width " << width;
        EXPECT_TRUE(torch::equal(window, before)) << where;
      }
    }
  }
}

// Decode's SSM step with the conv inside (x_proj read the conv's output in its own kernel): the same output and the
// same advanced window and state as the conv step followed by the SSM step.
TEST(DecodeLinearKernel, CudaSsmStepWithTheConvInsideEqualsTheTwoSteps) {
  SKIP_WITHOUT_GPU();
  const auto cuda = torch::TensorOptions().device(torch::kCUDA);
  for (const auto dtype : {torch::kFloat32, torch::kBFloat16}) {
    for (const int64_t width : {2, 4}) {
      const int64_t batch = 3, channels = 131, rank = 5, n = 16;
      torch::manual_seed(width);
      const auto x_in = torch::randn({batch, 2 * channels}, cuda.dtype(dtype)).narrow(1, 0, channels);
      const auto z = torch::randn({batch, channels}, cuda.dtype(dtype));
      auto window_ref = torch::randn({batch, width - 1, channels}, cuda.dtype(dtype));
      auto window_got = window_ref.clone();
      const auto conv_w = torch::randn({channels, width}, cuda.dtype(torch::kFloat32)) * 0.5;
      const auto conv_b = torch::randn({channels}, cuda.dtype(torch::kFloat32));
      const auto x_dbl = torch::randn({batch, rank + 2 * n}, cuda.dtype(dtype));
      const auto dt_w = (torch::randn({channels, rank}, cuda.dtype(torch::kFloat32)) * 0.3).to(dtype);
      const auto dt_b = torch::randn({channels}, cuda.dtype(torch::kFloat32)) * 0.5 - 1;
      const auto A_log = torch::log(torch::rand({channels, n}, cuda.dtype(torch::kFloat32)) * 4 + 0.5);
      const auto D = torch::randn({channels}, cuda.dtype(torch::kFloat32));
      auto state_ref = torch::randn({batch, channels, n}, cuda.dtype(torch::kFloat32));
      auto state_got = state_ref.clone();
      const auto x = ops::conv_step_reference(x_in, window_ref, conv_w, conv_b);
      const auto y_ref = ops::ssm_step_reference({x, x_dbl, z, dt_w, {}, dt_b, A_log, D}, state_ref);
      ops::SsmStepInputs in{{}, x_dbl, z, dt_w, {}, dt_b, A_log, D};
      in.x_in = x_in;
      in.conv_state = &window_got;
      in.conv_weight = conv_w;
      in.conv_bias = conv_b;
      const auto y_got = ops::ssm_step(in, state_got);
      const std::string where = std::string(c10::toString(dtype)) + " width " + std::to_string(width);
      const double tol = dtype == torch::kFloat32 ? 2e-5 : 2e-2;
      EXPECT_TRUE(torch::equal(window_ref, window_got)) << where;
      EXPECT_LT(max_diff(y_ref, y_got), tol * y_ref.to(torch::kFloat32).abs().max().item<float>()) << where;
      EXPECT_LT(max_diff(state_ref, state_got), tol * state_ref.abs().max().item<float>()) << where;
    }
  }
}
