// defines: tests of causal_conv1d (CPU kernel + autograd) against causal_conv1d_ref: forward and the gradients
// for x, weight and bias in float64 over odd shapes, widths and strided inputs; float32; determinism;
// a finite-difference check. Each on every CPU kernel path (instruction set) this machine supports.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "cpu_paths.h"
#include "ftmamba/ops/causal_conv1d.h"

namespace {

using torch::Tensor;

// Every test runs once per CPU kernel path this machine supports.
class CausalConv1d : public CpuPathTest {};
FTMAMBA_INSTANTIATE_CPU_PATHS(CausalConv1d);

struct Case {
  int64_t batch, L, channels, width;
  bool bias, silu, strided;
};

std::string describe(const Case& c) {
  return "batch " + std::to_string(c.batch) + " L " + std::to_string(c.L) + " channels " + std::to_string(c.channels) +
         " width " + std::to_string(c.width) + " bias " + std::to_string(c.bias) + " silu " + std::to_string(c.silu) +
         " strided " + std::to_string(c.strided);
}

struct Inputs {
  Tensor x, weight, bias;
  std::vector<Tensor> params;
};

Inputs make_inputs(const Case& c, torch::Dtype dtype = torch::kFloat64) {
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  const auto opts = torch::TensorOptions().dtype(dtype);
  const Tensor x = torch::randn({c.batch, c.L, c.channels}, f64);
  const Tensor w = torch::randn({c.channels, c.width}, f64) * 0.5;
  const Tensor b = torch::randn({c.channels}, f64);
  Inputs in;
  if (c.strided) {
    // As in the Mamba block: x is the first half of in_proj's output (L-stride 2 * channels).
    const Tensor xz = torch::cat({x, torch::randn({c.batch, c.L, c.channels}, f64)}, 2).to(opts).requires_grad_(true);
    in.x = xz.slice(2, 0, c.channels);
    EXPECT_EQ(in.x.stride(1), 2 * c.channels);
  } else {
    in.x = x.to(opts).requires_grad_(true);
  }
  in.weight = w.to(opts).requires_grad_(true);
  in.bias = c.bias ? b.to(opts).requires_grad_(true) : Tensor();
  in.params = {in.x, in.weight};
  if (c.bias) in.params.push_back(in.bias);
  return in;
}

struct Result {
  Tensor y;
  std::vector<Tensor> grads;
};

template <typename F>
Result run(F&& conv, const Inputs& in, bool silu, const Tensor& dy) {
  Result r;
  r.y = conv(in.x, in.weight, in.bias, silu);
  r.grads = torch::autograd::grad({r.y}, in.params, {dy.to(r.y.dtype())});
  return r;
}

double rel_err(const Tensor& a, const Tensor& b) {
  const Tensor a64 = a.to(torch::kFloat64), b64 = b.to(torch::kFloat64);
  if (a64.numel() == 0) return 0.0;
  return (a64 - b64).abs().max().item<double>() / std::max(1.0, b64.abs().max().item<double>());
}

void expect_match(const Result& got, const Result& want, double tol) {
  const char* names[] = {"x", "weight", "bias"};
  ASSERT_EQ(got.y.sizes(), want.y.sizes());
  EXPECT_TRUE(got.y.is_contiguous());
  EXPECT_LE(rel_err(got.y, want.y), tol) << "forward";
  ASSERT_EQ(got.grads.size(), want.grads.size());
  for (size_t i = 0; i < got.grads.size(); ++i) {
    ASSERT_EQ(got.grads[i].sizes(), want.grads[i].sizes()) << names[i];
    EXPECT_LE(rel_err(got.grads[i], want.grads[i]), tol) << "gradient of " << names[i];
  }
}

TEST_P(CausalConv1d, MatchesReferenceFloat64) {
  torch::manual_seed(0);
  for (const auto& [batch, L, channels] :
       std::vector<std::tuple<int64_t, int64_t, int64_t>>{{3, 1, 5}, {3, 7, 5}, {2, 37, 5}, {1, 13, 16}, {4, 3, 1}}) {
    for (int64_t width : {1, 2, 4, 5}) {
      for (int mask = 0; mask < 8; ++mask) {
        const Case c{batch, L, channels, width, (mask & 1) != 0, (mask & 2) != 0, (mask & 4) != 0};
        SCOPED_TRACE(describe(c));
        const Inputs in = make_inputs(c);
        const Tensor dy = torch::randn({c.batch, c.L, c.channels}, torch::kFloat64);
        expect_match(run(ftmamba::ops::causal_conv1d, in, c.silu, dy),
                     run(ftmamba::ops::causal_conv1d_ref, in, c.silu, dy), 1e-10);
      }
    }
  }
}

TEST_P(CausalConv1d, MatchesReferenceWithSeveralThreads) {
  const int saved = at::get_num_threads();
  torch::manual_seed(1);
  for (int threads : {2, 3}) {
    at::set_num_threads(threads);
    for (const Case& c : {Case{1, 9, 7, 4, true, true, true}, Case{5, 6, 9, 4, true, true, true}}) {
      SCOPED_TRACE(describe(c) + " threads " + std::to_string(threads));
      const Inputs in = make_inputs(c);
      const Tensor dy = torch::randn({c.batch, c.L, c.channels}, torch::kFloat64);
      expect_match(run(ftmamba::ops::causal_conv1d, in, c.silu, dy),
                   run(ftmamba::ops::causal_conv1d_ref, in, c.silu, dy), 1e-10);
    }
  }
  at::set_num_threads(saved);
}

TEST_P(CausalConv1d, Float32MatchesFloat64Reference) {
  torch::manual_seed(2);
  // 21 channels: SIMD vectors plus a scalar tail through the SiLU.
  for (const Case& c : {Case{8, 13, 32, 4, true, true, true}, Case{2, 37, 5, 4, true, false, false},
                        Case{3, 9, 21, 4, true, true, true}}) {
    SCOPED_TRACE(describe(c));
    const Inputs in64 = make_inputs(c);
    const Inputs in32 = make_inputs(c, torch::kFloat32);
    {
      torch::NoGradGuard no_grad;
      for (size_t i = 0; i < in32.params.size(); ++i) in32.params[i].copy_(in64.params[i]);
      in32.x.mul_(6.0);  // reach the SiLU's saturated ends too
      in64.x.mul_(6.0);
    }
    const Tensor dy = torch::randn({c.batch, c.L, c.channels}, torch::kFloat64);
    const Result got = run(ftmamba::ops::causal_conv1d, in32, c.silu, dy);
    EXPECT_EQ(got.y.scalar_type(), torch::kFloat32);
    expect_match(got, run(ftmamba::ops::causal_conv1d_ref, in64, c.silu, dy), 1e-4);
  }
}

TEST_P(CausalConv1d, AcceptsConv1dWeightLayout) {
  // nn::Conv1d stores the depthwise weight as (channels, 1, width).
  torch::manual_seed(3);
  const Case c{2, 6, 4, 4, true, true, false};
  const Inputs in = make_inputs(c);
  const Tensor w3 = in.weight.detach().unsqueeze(1).requires_grad_(true);
  const Tensor y = ftmamba::ops::causal_conv1d(in.x, w3, in.bias, true);
  EXPECT_LE(rel_err(y, ftmamba::ops::causal_conv1d_ref(in.x, in.weight, in.bias, true)), 1e-12);
  const Tensor gw = torch::autograd::grad({y.sum()}, {w3})[0];
  EXPECT_EQ(gw.sizes(), w3.sizes());
}

TEST_P(CausalConv1d, BackwardIsDeterministicForFixedThreads) {
  const int saved = at::get_num_threads();
  at::set_num_threads(2);
  torch::manual_seed(4);
  for (const Case& c : {Case{1, 13, 64, 4, true, true, true}, Case{7, 13, 64, 4, true, true, true}}) {
    const Inputs in = make_inputs(c, torch::kFloat32);
    const Tensor dy = torch::randn({c.batch, c.L, c.channels});
    const Result a = run(ftmamba::ops::causal_conv1d, in, true, dy), b = run(ftmamba::ops::causal_conv1d, in, true, dy);
    EXPECT_TRUE(torch::equal(a.y, b.y));
    for (size_t i = 0; i < a.grads.size(); ++i) EXPECT_TRUE(torch::equal(a.grads[i], b.grads[i]));
  }
  at::set_num_threads(saved);
}

TEST_P(CausalConv1d, FiniteDifferences) {
  torch::manual_seed(5);
  const Case c{2, 5, 3, 4, true, true, true};
  const Inputs in = make_inputs(c);
  const Tensor dy = torch::randn({c.batch, c.L, c.channels}, torch::kFloat64);
  const Result analytic = run(ftmamba::ops::causal_conv1d, in, true, dy);
  const auto loss = [&] {
    torch::NoGradGuard no_grad;
    return (ftmamba::ops::causal_conv1d(in.x, in.weight, in.bias, true) * dy).sum().item<double>();
  };
  const double eps = 1e-6;
  for (size_t i = 0; i < in.params.size(); ++i) {
    const Tensor& p = in.params[i];
    const Tensor flat_grad = analytic.grads[i].contiguous().view(-1);
    for (int64_t k = 0; k < p.numel(); ++k) {
      Tensor e = p;
      int64_t rem = k;
      std::vector<int64_t> idx(static_cast<size_t>(p.dim()));
      for (int64_t d = p.dim() - 1; d >= 0; --d) {
        idx[static_cast<size_t>(d)] = rem % p.size(d);
        rem /= p.size(d);
      }
      for (int64_t d = 0; d < p.dim(); ++d) e = e.select(0, idx[static_cast<size_t>(d)]);
      double orig = 0;
      {
        torch::NoGradGuard no_grad;
        orig = e.item<double>();
        e.fill_(orig + eps);
      }
      const double plus = loss();
      {
        torch::NoGradGuard no_grad;
        e.fill_(orig - eps);
      }
      const double minus = loss();
      {
        torch::NoGradGuard no_grad;
        e.fill_(orig);
      }
      const double numeric = (plus - minus) / (2 * eps);
      EXPECT_NEAR(flat_grad[k].item<double>(), numeric, 1e-6 * std::max(1.0, std::abs(numeric)))
          << "param " << i << " element " << k;
    }
  }
}

// bfloat16 x goes to the kernel as it is (it widens each work item's rows itself): exactly what the float32
// kernel gives on the widened inputs, rounded to bfloat16; and within bfloat16's rounding of the float64
// reference. Odd shapes, widths, strided x, one and three threads, and a sequence long enough to be widened
// in channel slices.
TEST_P(CausalConv1d, Bfloat16InputsEqualTheFloat32KernelRounded) {
  const int saved = at::get_num_threads();
  const Case cases[] = {{3, 7, 5, 4, true, true, false},
                        {2, 13, 37, 4, true, true, true},
                        {1, 1, 16, 3, false, false, true},
                        {2, 5, 21, 2, true, false, false},
                        {1, 9000, 48, 4, true, true, true}};
  for (int threads : {1, 3}) {
    at::set_num_threads(threads);
    for (const Case& c : cases) {
      SCOPED_TRACE(describe(c) + " threads " + std::to_string(threads));
      torch::manual_seed(21);
      const Inputs bf = make_inputs(c, torch::kBFloat16);
      Inputs f32 = make_inputs(c, torch::kFloat32), f64 = make_inputs(c, torch::kFloat64);
      {
        torch::NoGradGuard no_grad;
        for (size_t i = 0; i < bf.params.size(); ++i) {
          f32.params[i].copy_(bf.params[i]);
          f64.params[i].copy_(bf.params[i]);
        }
      }
      const Tensor dy = torch::randn({c.batch, c.L, c.channels}, torch::kFloat64).to(torch::kBFloat16);
      const Result got = run(ftmamba::ops::causal_conv1d, bf, c.silu, dy);
      const Result want = run(ftmamba::ops::causal_conv1d, f32, c.silu, dy.to(torch::kFloat32));
      EXPECT_TRUE(torch::equal(got.y, want.y.to(torch::kBFloat16))) << "forward";
      for (size_t i = 0; i < got.grads.size(); ++i)
        EXPECT_TRUE(torch::equal(got.grads[i], want.grads[i].to(torch::kBFloat16))) << "gradient " << i;
      expect_match(got, run(ftmamba::ops::causal_conv1d_ref, f64, c.silu, dy.to(torch::kFloat64)), 1e-2);
    }
  }
  at::set_num_threads(saved);
}

TEST_P(CausalConv1d, RejectsBadShapes) {
  const Tensor x = torch::randn({2, 3, 4});
  EXPECT_THROW(ftmamba::ops::causal_conv1d(x, torch::randn({5, 4}), {}, true), c10::Error);
  EXPECT_THROW(ftmamba::ops::causal_conv1d(x, torch::randn({4, 4}), torch::randn({3}), true), c10::Error);
  EXPECT_THROW(ftmamba::ops::causal_conv1d(torch::randn({2, 3}), torch::randn({4, 4}), {}, true), c10::Error);
}

}  // namespace
