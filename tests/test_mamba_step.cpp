// ops::conv_step and ops::ssm_step, the halves of one recurrent Mamba step, and ops::add_rms_norm, the residual add
// and norm between steps: their LibTorch references in float64 against the step written out channel by channel
// (and against nn::RMSNorm), and (on a GPU) the CUDA kernels against the references on random inputs of odd
// sizes, in float32 and bfloat16, with dt_proj applied inside the kernel or given as delta.
#include <gtest/gtest.h>

#include <cmath>

#include "ftmamba/nn/rms_norm.h"
#include "ftmamba/ops/add_rms_norm.h"
#include "ftmamba/ops/mamba_step.h"
#include "gpu_skip.h"

namespace ops = ftmamba::ops;

namespace {

const auto kF64 = torch::TensorOptions().dtype(torch::kFloat64);

struct StepCase {
  int64_t batch, channels, rank, d_state, width;
};

struct StepInputs {
  torch::Tensor xz, conv_state, conv_w, conv_b, x_dbl, dt_w, dt_b, A_log, D, ssm_state;
};

StepInputs random_inputs(const StepCase& c, torch::TensorOptions o) {
  StepInputs s;
  s.xz = torch::randn({c.batch, 2 * c.channels}, o);  // x | z, as in_proj's output
  s.conv_state = torch::randn({c.batch, c.width - 1, c.channels}, o);
  s.conv_w = torch::randn({c.channels, c.width}, o) * 0.5;
  s.conv_b = torch::randn({c.channels}, o) * 0.1;
  s.x_dbl = torch::randn({c.batch, c.rank + 2 * c.d_state}, o);
  s.dt_w = torch::randn({c.channels, c.rank}, o) * 0.3;
  s.dt_b = torch::randn({c.channels}, o) * 0.5 - 1.0;
  s.A_log = torch::log(torch::rand({c.channels, c.d_state}, o) * 4 + 0.5);
  s.D = torch::randn({c.channels}, o);
  s.ssm_state = torch::randn({c.batch, c.channels, c.d_state}, o);
  return s;
}

double softplus(double v) { return v > 20 ? v : std::log1p(std::exp(v)); }
double silu(double v) { return v / (1 + std::exp(-v)); }

}  // namespace

TEST(MambaStepReference, EqualsTheStepWrittenOutChannelByChannel) {
  for (const StepCase c : {StepCase{2, 5, 3, 4, 4}, StepCase{1, 6, 2, 3, 3}}) {  // batch 1: dt_proj as mv
    torch::manual_seed(7);
    auto in = random_inputs(c, kF64);
    const auto x_in = in.xz.narrow(1, 0, c.channels), z = in.xz.narrow(1, c.channels, c.channels);
    const auto conv_before = in.conv_state.clone(), ssm_before = in.ssm_state.clone();
    const auto x = ops::conv_step_reference(x_in, in.conv_state, in.conv_w, in.conv_b);
    const auto y = ops::ssm_step_reference({x, in.x_dbl, z, in.dt_w, {}, in.dt_b, in.A_log, in.D}, in.ssm_state);
    for (int64_t b = 0; b < c.batch; ++b) {
      for (int64_t ch = 0; ch < c.channels; ++ch) {
        double pre = in.conv_b[ch].item<double>();
        for (int64_t k = 0; k < c.width; ++k) {
          const double v = k + 1 < c.width ? conv_before[b][k][ch].item<double>() : x_in[b][ch].item<double>();
          pre += in.conv_w[ch][k].item<double>() * v;
          // The window moved by one: the state holds the last width - 1 inputs, the newest last.
          if (k > 0) {
            EXPECT_EQ(in.conv_state[b][k - 1][ch].item<double>(), v);
          }
        }
        const double xv = silu(pre);
        EXPECT_NEAR(x[b][ch].item<double>(), xv, 1e-12);
        double dt = in.dt_b[ch].item<double>();
        for (int64_t j = 0; j < c.rank; ++j) dt += in.dt_w[ch][j].item<double>() * in.x_dbl[b][j].item<double>();
        dt = softplus(dt);
        double yv = in.D[ch].item<double>() * xv;
        for (int64_t n = 0; n < c.d_state; ++n) {
          const double A = -std::exp(in.A_log[ch][n].item<double>());
          const double h =
              std::exp(dt * A) * ssm_before[b][ch][n].item<double>() + dt * xv * in.x_dbl[b][c.rank + n].item<double>();
          EXPECT_NEAR(in.ssm_state[b][ch][n].item<double>(), h, 1e-12);
          yv += h * in.x_dbl[b][c.rank + c.d_state + n].item<double>();
        }
        EXPECT_NEAR(y[b][ch].item<double>(), yv * silu(z[b][ch].item<double>()), 1e-12);
      }
    }
  }
}

TEST(MambaStepReference, TheConvInsideTheStepEqualsTheTwoSteps) {
  torch::manual_seed(10);
  const StepCase c{2, 6, 3, 4, 4};
  auto in = random_inputs(c, kF64);
  const auto x_in = in.xz.narrow(1, 0, c.channels), z = in.xz.narrow(1, c.channels, c.channels);
  auto window = in.conv_state.clone();
  auto state = in.ssm_state.clone();
  const auto x = ops::conv_step_reference(x_in, in.conv_state, in.conv_w, in.conv_b);
  const auto want = ops::ssm_step_reference({x, in.x_dbl, z, in.dt_w, {}, in.dt_b, in.A_log, in.D}, in.ssm_state);
  ops::SsmStepInputs inside{{}, in.x_dbl, z, in.dt_w, {}, in.dt_b, in.A_log, in.D};
  inside.x_in = x_in;
  inside.conv_state = &window;
  inside.conv_weight = in.conv_w;
  inside.conv_bias = in.conv_b;
  const auto got = ops::ssm_step(inside, state);
  EXPECT_LT((got - want).abs().max().item<double>(), 1e-15);
  EXPECT_TRUE(torch::equal(window, in.conv_state));  // the window advanced as conv_step advances it
  EXPECT_LT((state - in.ssm_state).abs().max().item<double>(), 1e-15);
  EXPECT_GT(got.abs().max().item<double>(), 1e-3);
}

TEST(MambaStepReference, AGivenDeltaEqualsDtProjInside) {
  torch::manual_seed(8);
  const StepCase c{3, 6, 2, 3, 4};
  auto in = random_inputs(c, kF64);
  const auto x = in.xz.narrow(1, 0, c.channels), z = in.xz.narrow(1, c.channels, c.channels);
  auto state2 = in.ssm_state.clone();
  const auto delta = torch::linear(in.x_dbl.narrow(1, 0, c.rank), in.dt_w);
  const auto a = ops::ssm_step_reference({x, in.x_dbl, z, in.dt_w, {}, in.dt_b, in.A_log, in.D}, in.ssm_state);
  const auto b = ops::ssm_step_reference({x, in.x_dbl, z, {}, delta, in.dt_b, in.A_log, in.D}, state2);
  EXPECT_LT((a - b).abs().max().item<double>(), 1e-14);
  EXPECT_LT((in.ssm_state - state2).abs().max().item<double>(), 1e-14);
  EXPECT_GT(a.abs().max().item<double>(), 1e-3);
}

// The kernels against the references: the same outputs and the same advanced states.
TEST(MambaStepKernels, CudaEqualTheReferenceOnOddSizes) {
  SKIP_WITHOUT_GPU();
  for (const auto dtype : {torch::kFloat32, torch::kBFloat16}) {
    const double tol = dtype == torch::kFloat32 ? 2e-5 : 2e-2;
    for (const StepCase c : {StepCase{1, 37, 5, 7, 4}, StepCase{3, 130, 9, 16, 3}, StepCase{2, 33, 4, 16, 1},
                             StepCase{16, 1536, 48, 16, 4}}) {
      for (const bool delta_given : {false, true}) {
        torch::manual_seed(c.channels + c.width);
        auto ref = random_inputs(c, torch::TensorOptions().dtype(torch::kFloat32).device(torch::kCUDA));
        // Activations and the conv state in `dtype`; dt_proj's weight too (as the bf16 decode holds it).
        ref.xz = ref.xz.to(dtype);
        ref.conv_state = ref.conv_state.to(dtype);
        ref.x_dbl =
            torch::randn({c.batch, c.rank + 2 * c.d_state + 3}, ref.xz.options()).narrow(1, 0, c.rank + 2 * c.d_state);
        ref.dt_w = ref.dt_w.to(dtype);
        StepInputs got = ref;
        got.conv_state = ref.conv_state.clone();
        got.ssm_state = ref.ssm_state.clone();
        const auto x_in = ref.xz.narrow(1, 0, c.channels), z = ref.xz.narrow(1, c.channels, c.channels);
        const auto x_ref = ops::conv_step_reference(x_in, ref.conv_state, ref.conv_w, ref.conv_b);
        const auto x_got = ops::conv_step(x_in, got.conv_state, got.conv_w, got.conv_b);
        const std::string where = std::string(c10::toString(dtype)) + " channels " + std::to_string(c.channels) +
                                  " width " + std::to_string(c.width) + (delta_given ? " delta given" : "");
        EXPECT_LT((x_ref.to(torch::kFloat32) - x_got.to(torch::kFloat32)).abs().max().item<float>(), tol) << where;
        EXPECT_TRUE(torch::equal(ref.conv_state, got.conv_state)) << where;
        const auto delta = torch::linear(ref.x_dbl.narrow(1, 0, c.rank), ref.dt_w).contiguous();
        ops::SsmStepInputs in{x_ref, ref.x_dbl, z, ref.dt_w, {}, ref.dt_b, ref.A_log, ref.D};
        if (delta_given) {
          in.dt_weight = torch::Tensor();
          in.delta = delta;
        }
        const auto y_ref = ops::ssm_step_reference(in, ref.ssm_state);
        const auto y_got = ops::ssm_step(in, got.ssm_state);
        const auto scale = y_ref.to(torch::kFloat32).abs().max().item<float>();
        EXPECT_LT((y_ref.to(torch::kFloat32) - y_got.to(torch::kFloat32)).abs().max().item<float>(), tol * scale)
            << where;
        EXPECT_LT((ref.ssm_state - got.ssm_state).abs().max().item<float>(),
                  tol * ref.ssm_state.abs().max().item<float>())
            << where;
      }
    }
  }
}

TEST(AddRmsNormReference, AddsInPlaceThenEqualsRMSNorm) {
  torch::manual_seed(9);
  ftmamba::nn::RMSNorm norm(11, 1e-5);
  norm->to(torch::kFloat64);
  {
    torch::NoGradGuard no_grad;
    norm->weight.uniform_(0.5, 1.5);
  }
  const auto x = torch::randn({3, 11}, kF64), delta = torch::randn({3, 11}, kF64);
  auto residual = x.clone();
  const auto h = ops::add_rms_norm_reference(residual, delta, norm->weight, 1e-5, torch::kFloat64);
  EXPECT_LT((residual - (x + delta)).abs().max().item<double>(), 1e-15);
  EXPECT_LT((h - norm(x + delta)).abs().max().item<double>(), 1e-14);
  // Row by row: h = r / sqrt(mean(r^2) + eps) * w.
  const auto r = x + delta;
  const double rms0 = std::sqrt((r[0] * r[0]).mean().item<double>() + 1e-5);
  EXPECT_NEAR(h[0][4].item<double>(), r[0][4].item<double>() / rms0 * norm->weight[4].item<double>(), 1e-14);
  // No delta: the residual stays as it is.
  auto untouched = x.clone();
  EXPECT_LT((ops::add_rms_norm_reference(untouched, {}, norm->weight, 1e-5, torch::kFloat64) - norm(x))
                .abs()
                .max()
                .item<double>(),
            1e-14);
  EXPECT_TRUE(torch::equal(untouched, x));
}

TEST(AddRmsNormKernel, CudaEqualsTheReferenceOnOddSizes) {
  SKIP_WITHOUT_GPU();
  const auto cuda = torch::TensorOptions().device(torch::kCUDA);
  for (const int64_t dim : {1, 37, 768, 2561}) {
    for (const int64_t batch : {1, 3, 16}) {
      for (const auto delta_dtype : {torch::kFloat32, torch::kBFloat16}) {
        for (const auto out_dtype : {torch::kFloat32, torch::kBFloat16}) {
          torch::manual_seed(dim + batch);
          const auto x = torch::randn({batch, dim}, cuda.dtype(torch::kFloat32)) * 3;
          const auto delta = torch::randn({batch, dim}, cuda.dtype(delta_dtype));
          const auto weight = torch::rand({dim}, cuda.dtype(torch::kFloat32)) + 0.5;
          auto ref_residual = x.clone(), got_residual = x.clone();
          const auto ref = ops::add_rms_norm_reference(ref_residual, delta, weight, 1e-5, out_dtype);
          const auto got = ops::add_rms_norm(got_residual, delta, weight, 1e-5, out_dtype);
          const std::string where = "dim " + std::to_string(dim) + " batch " + std::to_string(batch) + " " +
                                    c10::toString(delta_dtype) + " -> " + c10::toString(out_dtype);
          ASSERT_EQ(got.scalar_type(), out_dtype) << where;
          EXPECT_LT((ref_residual - got_residual).abs().max().item<float>(), 1e-6) << where;
          const double tol = out_dtype == torch::kFloat32 ? 1e-5 : 1e-2;
          EXPECT_LT((ref.to(torch::kFloat32) - got.to(torch::kFloat32)).abs().max().item<float>(),
                    tol * ref.to(torch::kFloat32).abs().max().item<float>())
              << where;
        }
      }
    }
  }
}
