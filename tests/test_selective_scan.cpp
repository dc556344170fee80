// defines: tests of selective_scan (fused CPU kernel + autograd) against selective_scan_ref: forward and every
// gradient in float64 over odd shapes, options and model-like strided inputs; float32 accuracy; determinism;
// a finite-difference check. Each on every CPU kernel path (instruction set) this machine supports.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "cpu_paths.h"
#include "ftmamba/ops/selective_scan.h"

namespace {

using torch::Tensor;

// Every test runs once per CPU kernel path this machine supports.
class SelectiveScan : public CpuPathTest {};
FTMAMBA_INSTANTIATE_CPU_PATHS(SelectiveScan);

struct Shape {
  int64_t batch, L, dim, N;
};

struct Options {
  bool z, D, bias, softplus, strided;
};

std::string describe(const Shape& s, const Options& o) {
  return "batch " + std::to_string(s.batch) + " L " + std::to_string(s.L) + " dim " + std::to_string(s.dim) + " N " +
         std::to_string(s.N) + " z " + std::to_string(o.z) + " D " + std::to_string(o.D) + " bias " +
         std::to_string(o.bias) + " softplus " + std::to_string(o.softplus) + " strided " + std::to_string(o.strided);
}

// The scan's inputs. `params` are the tensors gradients are taken for: the inputs themselves, which for the
// strided case are views into larger leaves laid out as in the Mamba block.
struct Inputs {
  Tensor u, delta, A, B, C, D, z, bias;
  std::vector<Tensor> params;
  std::vector<std::string> names;
};

Inputs make_inputs(const Shape& s, const Options& o, torch::Dtype dtype = torch::kFloat64) {
  // Values are drawn in float64, so a given seed gives the same numbers whatever the dtype.
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  const auto opts = torch::TensorOptions().dtype(dtype);
  const Tensor u = torch::randn({s.batch, s.L, s.dim}, f64);
  const Tensor z = torch::randn({s.batch, s.L, s.dim}, f64);
  const Tensor B = torch::randn({s.batch, s.L, s.N}, f64);
  const Tensor C = torch::randn({s.batch, s.L, s.N}, f64);
  const Tensor delta_raw = torch::randn({s.batch, s.L, s.dim}, f64);
  // delta modest: softplus(-1 +- 0.5) ~ 0.2 .. 0.5; without softplus a small positive step directly.
  const Tensor delta = o.softplus ? delta_raw * 0.5 - 1.0 : delta_raw.abs() * 0.2 + 0.05;
  const Tensor bias = o.softplus ? torch::randn({s.dim}, f64) * 0.5 : torch::rand({s.dim}, f64) * 0.1;
  const Tensor A = -torch::exp(torch::randn({s.dim, s.N}, f64) * 0.5);
  const Tensor D = torch::randn({s.dim}, f64);
  const auto leaf = [&](const Tensor& t) { return t.to(opts).requires_grad_(true); };
  Inputs in;
  if (o.strided) {
    // As in the Mamba block: xz = in_proj(x) holds u | z (L-stride 2*dim); x_dbl = x_proj(x) holds
    // dt | B | C (L-stride dt_rank + 2N); delta is stored (L, batch, dim), so its batch stride is dim.
    const int64_t dt_rank = 3;
    const Tensor xz = leaf(torch::cat({u, z}, 2));
    const Tensor x_dbl = leaf(torch::cat({torch::randn({s.batch, s.L, dt_rank}, f64), B, C}, 2));
    const Tensor delta_lbd = leaf(delta.transpose(0, 1).contiguous());
    in.u = xz.slice(2, 0, s.dim);
    in.z = o.z ? xz.slice(2, s.dim, 2 * s.dim) : Tensor();
    in.B = x_dbl.slice(2, dt_rank, dt_rank + s.N);
    in.C = x_dbl.slice(2, dt_rank + s.N, dt_rank + 2 * s.N);
    in.delta = delta_lbd.transpose(0, 1);
    EXPECT_EQ(in.u.stride(1), 2 * s.dim);
    EXPECT_EQ(in.B.stride(1), dt_rank + 2 * s.N);
    if (s.batch > 1) {
      EXPECT_EQ(in.delta.stride(0), s.dim);
    }
  } else {
    in.u = leaf(u);
    in.z = o.z ? leaf(z) : Tensor();
    in.B = leaf(B);
    in.C = leaf(C);
    in.delta = leaf(delta);
  }
  in.A = leaf(A);
  in.D = o.D ? leaf(D) : Tensor();
  in.bias = o.bias ? leaf(bias) : Tensor();
  const std::vector<std::pair<std::string, Tensor>> all = {
      {"u", in.u}, {"delta", in.delta}, {"A", in.A}, {"B", in.B},
      {"C", in.C}, {"D", in.D},         {"z", in.z}, {"delta_bias", in.bias}};
  for (const auto& [name, t] : all) {
    if (t.defined()) {
      in.params.push_back(t);
      in.names.push_back(name);
    }
  }
  return in;
}

// Same values in another dtype, same strides (used for float32 vs the float64 reference).
Inputs convert(const Inputs& src, const Shape& s, const Options& o, torch::Dtype dtype) {
  Inputs in = make_inputs(s, o, dtype);
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < in.params.size(); ++i) in.params[i].copy_(src.params[i]);
  return in;
}

struct Result {
  Tensor y;
  std::vector<Tensor> grads;
};

template <typename F>
Result run(F&& scan, const Inputs& in, bool softplus, const Tensor& dy) {
  Result r;
  r.y = scan(in.u, in.delta, in.A, in.B, in.C, in.D, in.z, in.bias, softplus);
  r.grads = torch::autograd::grad({r.y}, in.params, {dy.to(r.y.dtype())});
  return r;
}

Result run_kernel(const Inputs& in, bool softplus, const Tensor& dy) {
  return run(ftmamba::ops::selective_scan, in, softplus, dy);
}
Result run_ref(const Inputs& in, bool softplus, const Tensor& dy) {
  return run(ftmamba::ops::selective_scan_ref, in, softplus, dy);
}

// max |a - b| / max(1, max |b|), in float64.
double rel_err(const Tensor& a, const Tensor& b) {
  const Tensor a64 = a.to(torch::kFloat64), b64 = b.to(torch::kFloat64);
  if (a64.numel() == 0) return 0.0;
  const double diff = (a64 - b64).abs().max().item<double>();
  const double scale = std::max(1.0, b64.abs().max().item<double>());
  return diff / scale;
}

void expect_match(const Result& got, const Result& want, const std::vector<std::string>& names, double tol) {
  ASSERT_EQ(got.y.sizes(), want.y.sizes());
  EXPECT_TRUE(got.y.is_contiguous());
  EXPECT_LE(rel_err(got.y, want.y), tol) << "forward";
  ASSERT_EQ(got.grads.size(), want.grads.size());
  for (size_t i = 0; i < got.grads.size(); ++i) {
    ASSERT_TRUE(got.grads[i].defined()) << names[i];
    ASSERT_EQ(got.grads[i].sizes(), want.grads[i].sizes()) << names[i];
    EXPECT_LE(rel_err(got.grads[i], want.grads[i]), tol) << "gradient of " << names[i];
  }
}

// Channel counts cover whole SIMD vectors, vectors plus a scalar tail and the tail alone; state sizes cover
// the backward's register blocks of 8, 4, 2 and 1 states (15 = 8 + 4 + 2 + 1).
const std::vector<Shape> kShapes = {
    {3, 7, 5, 16}, {3, 1, 5, 1},  {3, 7, 5, 1},    {2, 37, 5, 16},
    {1, 13, 8, 4}, {4, 1, 3, 16}, {2, 13, 32, 16}, {2, 9, 21, 15},
};

TEST_P(SelectiveScan, MatchesReferenceFloat64AllOptions) {
  torch::manual_seed(0);
  for (const Shape& s : kShapes) {
    for (int mask = 0; mask < 32; ++mask) {
      const Options o{(mask & 1) != 0, (mask & 2) != 0, (mask & 4) != 0, (mask & 8) != 0, (mask & 16) != 0};
      SCOPED_TRACE(describe(s, o));
      const Inputs in = make_inputs(s, o);
      const Tensor dy = torch::randn({s.batch, s.L, s.dim}, torch::kFloat64);
      expect_match(run_kernel(in, o.softplus, dy), run_ref(in, o.softplus, dy), in.names, 1e-10);
    }
  }
}

TEST_P(SelectiveScan, MatchesReferenceWithSeveralThreadsAndChannelGroups) {
  // batch < threads splits each row into channel groups whose dB / dC partials are summed afterwards.
  const int saved = at::get_num_threads();
  torch::manual_seed(1);
  for (int threads : {2, 3, 4}) {
    at::set_num_threads(threads);
    // Groups start at SIMD vector boundaries: with 5-7 channels all but the last are empty; 37 and 29 give
    // several groups of whole vectors and one with a tail.
    for (const Shape& s :
         {Shape{1, 9, 7, 16}, Shape{3, 5, 6, 3}, Shape{5, 11, 5, 16}, Shape{1, 9, 37, 16}, Shape{2, 7, 29, 5}}) {
      const Options o{true, true, true, true, true};
      SCOPED_TRACE(describe(s, o) + " threads " + std::to_string(threads));
      const Inputs in = make_inputs(s, o);
      const Tensor dy = torch::randn({s.batch, s.L, s.dim}, torch::kFloat64);
      expect_match(run_kernel(in, true, dy), run_ref(in, true, dy), in.names, 1e-10);
    }
  }
  at::set_num_threads(saved);
}

TEST_P(SelectiveScan, LongSequencesAndWideRowsUseBlocksAndTimeChunks) {
  // The backward keeps a bounded state history (256 KB per thread): wide rows are split into channel blocks,
  // long sequences into time chunks restarted from checkpoints. In float64 on one thread: {2, 13, 150, 16}
  // runs blocks of 128 + 22 channels in 3 chunks each; {2, 5, 200, 16} blocks of 152 + 48 (whole vectors) in
  // one chunk;
  // {2, 300, 40, 16} one block in 14 chunks; {1, 300, 40, 5} one block in 5 chunks, with an odd state size.
  torch::manual_seed(2);
  const std::vector<std::pair<Shape, bool>> cases = {{{2, 13, 150, 16}, true},
                                                     {{2, 5, 200, 16}, true},
                                                     {{2, 300, 40, 16}, true},
                                                     {{2, 300, 40, 16}, false},
                                                     {{1, 300, 40, 5}, true}};
  for (const auto& [s, softplus] : cases) {
    const Options o{true, true, true, softplus, true};
    SCOPED_TRACE(describe(s, o));
    const Inputs in = make_inputs(s, o);
    const Tensor dy = torch::randn({s.batch, s.L, s.dim}, torch::kFloat64);
    expect_match(run_kernel(in, softplus, dy), run_ref(in, softplus, dy), in.names, 1e-10);
  }
}

TEST_P(SelectiveScan, Float32MatchesFloat64Reference) {
  torch::manual_seed(3);
  for (const Shape& s :
       {Shape{3, 13, 32, 16}, Shape{2, 37, 5, 16}, Shape{3, 7, 5, 1}, Shape{2, 9, 37, 15}, Shape{2, 6, 48, 12}}) {
    for (bool strided : {false, true}) {
      const Options o{true, true, true, true, strided};
      SCOPED_TRACE(describe(s, o));
      const Inputs in64 = make_inputs(s, o);
      const Inputs in32 = convert(in64, s, o, torch::kFloat32);
      const Tensor dy = torch::randn({s.batch, s.L, s.dim}, torch::kFloat64);
      const Result got = run_kernel(in32, true, dy);
      EXPECT_EQ(got.y.scalar_type(), torch::kFloat32);
      expect_match(got, run_ref(in64, true, dy), in64.names, 1e-5);
    }
  }
}

TEST_P(SelectiveScan, Float32SoftplusRangeAndGateExtremes) {
  // Exercise the float softplus / sigmoid across their ranges, including the threshold at 20.
  torch::manual_seed(4);
  const Shape s{2, 6, 40, 4};
  const Options o{true, true, true, true, false};
  Inputs in64 = make_inputs(s, o);
  {
    torch::NoGradGuard no_grad;
    in64.delta.copy_(torch::linspace(-30, 30, s.batch * s.L * s.dim, torch::kFloat64).view({s.batch, s.L, s.dim}));
    in64.z.mul_(8.0);
    in64.bias.zero_();
  }
  const Inputs in32 = convert(in64, s, o, torch::kFloat32);
  const Tensor dy = torch::randn({s.batch, s.L, s.dim}, torch::kFloat64);
  expect_match(run_kernel(in32, true, dy), run_ref(in64, true, dy), in64.names, 1e-5);
  expect_match(run_kernel(in64, true, dy), run_ref(in64, true, dy), in64.names, 1e-10);
}

TEST_P(SelectiveScan, BackwardIsDeterministicForFixedThreads) {
  const int saved = at::get_num_threads();
  at::set_num_threads(2);
  torch::manual_seed(5);
  for (const Shape& s : {Shape{1, 13, 16, 16}, Shape{6, 13, 16, 16}}) {
    const Options o{true, true, true, true, true};
    const Inputs in = make_inputs(s, o, torch::kFloat32);
    const Tensor dy = torch::randn({s.batch, s.L, s.dim});
    const Result a = run_kernel(in, true, dy), b = run_kernel(in, true, dy);
    EXPECT_TRUE(torch::equal(a.y, b.y));
    for (size_t i = 0; i < a.grads.size(); ++i) EXPECT_TRUE(torch::equal(a.grads[i], b.grads[i])) << in.names[i];
  }
  at::set_num_threads(saved);
}

TEST_P(SelectiveScan, FiniteDifferences) {
  // Central differences of sum(dy * y) through the kernel's own forward, for every element of every input.
  torch::manual_seed(6);
  const Shape s{2, 4, 3, 2};
  const Options o{true, true, true, true, true};
  const Inputs in = make_inputs(s, o);
  const Tensor dy = torch::randn({s.batch, s.L, s.dim}, torch::kFloat64);
  const Result analytic = run_kernel(in, true, dy);
  const auto loss = [&] {
    torch::NoGradGuard no_grad;
    return (ftmamba::ops::selective_scan(in.u, in.delta, in.A, in.B, in.C, in.D, in.z, in.bias, true) * dy)
        .sum()
        .item<double>();
  };
  const double eps = 1e-6;
  for (size_t i = 0; i < in.params.size(); ++i) {
    Tensor p = in.params[i];
    Tensor flat_grad = analytic.grads[i].contiguous().view(-1);
    for (int64_t k = 0; k < p.numel(); ++k) {
      // Index the (possibly strided) view element by element.
      std::vector<int64_t> idx(static_cast<size_t>(p.dim()));
      int64_t rem = k;
      for (int64_t d = p.dim() - 1; d >= 0; --d) {
        idx[static_cast<size_t>(d)] = rem % p.size(d);
        rem /= p.size(d);
      }
      Tensor e = p;
      for (int64_t d = 0; d < p.dim(); ++d) e = e.select(0, idx[static_cast<size_t>(d)]);
      double orig;
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
          << in.names[i] << " element " << k;
    }
  }
}

TEST_P(SelectiveScan, LowPrecisionInputsComputeInFloat32) {
  torch::manual_seed(7);
  const Shape s{2, 5, 8, 16};
  const Options o{true, true, true, true, false};
  const Inputs in64 = make_inputs(s, o);
  const Inputs in16 = convert(in64, s, o, torch::kBFloat16);
  const Tensor dy = torch::randn({s.batch, s.L, s.dim}, torch::kFloat64);
  const Result got = run_kernel(in16, true, dy);
  EXPECT_EQ(got.y.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(got.grads[2].scalar_type(), torch::kBFloat16);  // A
  EXPECT_LE(rel_err(got.y, run_ref(in16, true, dy).y), 2e-2);
}

// Exactly equal, element for element (NaN nowhere).
void expect_equal(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(got.scalar_type(), want.scalar_type()) << what;
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  EXPECT_TRUE(torch::equal(got, want))
      << what << ": max difference " << (got.to(torch::kFloat64) - want.to(torch::kFloat64)).abs().max().item<double>();
}

// bfloat16 activations go to the kernel as they are (it widens each work item's rows itself). That must give
// exactly what the float32 kernel gives on the widened inputs, rounded to bfloat16: the same arithmetic, with
// no float32 copy of a whole tensor. Every option, strided inputs, odd shapes, one and three threads.
TEST_P(SelectiveScan, Bfloat16ActivationsEqualTheFloat32KernelRounded) {
  const int saved = at::get_num_threads();
  for (int threads : {1, 3}) {
    at::set_num_threads(threads);
    for (const Shape& s : kShapes) {
      for (const Options& o : {Options{true, true, true, true, false}, Options{false, false, false, false, false},
                               Options{true, true, true, true, true}, Options{true, false, true, true, true}}) {
        SCOPED_TRACE(describe(s, o) + " threads " + std::to_string(threads));
        torch::manual_seed(11);
        const Inputs bf = make_inputs(s, o, torch::kBFloat16);
        const Inputs f32 = convert(bf, s, o, torch::kFloat32);  // exact: every bfloat16 is a float32
        const Tensor dy = torch::randn({s.batch, s.L, s.dim}, torch::kFloat64).to(torch::kBFloat16);
        const Result got = run_kernel(bf, o.softplus, dy);
        const Result want = run_kernel(f32, o.softplus, dy.to(torch::kFloat32));
        expect_equal(got.y, want.y.to(torch::kBFloat16), "forward");
        for (size_t i = 0; i < got.grads.size(); ++i)
          expect_equal(got.grads[i], want.grads[i].to(torch::kBFloat16), "gradient of " + bf.names[i]);
      }
    }
  }
  at::set_num_threads(saved);
}

// A long sequence, whose work items are widened in channel slices: the same as the float32 kernel, except that
// dB and dC then add their channels in another order (float32 rounding before the bfloat16 one).
TEST_P(SelectiveScan, Bfloat16LongSequencesGoInChannelSlices) {
  torch::manual_seed(12);
  const Shape s{1, 3000, 40, 16};
  const Options o{true, true, true, true, true};
  const Inputs bf = make_inputs(s, o, torch::kBFloat16);
  const Inputs f32 = convert(bf, s, o, torch::kFloat32);
  const Tensor dy = torch::randn({s.batch, s.L, s.dim}, torch::kFloat64).to(torch::kBFloat16);
  const Result got = run_kernel(bf, true, dy);
  const Result want = run_kernel(f32, true, dy.to(torch::kFloat32));
  expect_equal(got.y, want.y.to(torch::kBFloat16), "forward");
  for (size_t i = 0; i < got.grads.size(); ++i) {
    if (bf.names[i] == "B" || bf.names[i] == "C") {
      EXPECT_LE(rel_err(got.grads[i], want.grads[i]), 1e-2) << bf.names[i];
    } else {
      expect_equal(got.grads[i], want.grads[i].to(torch::kBFloat16), "gradient of " + bf.names[i]);
    }
  }
}

// And against the float64 reference on the same (bfloat16-valued) inputs: forward and every gradient within
// bfloat16's rounding of the outputs.
TEST_P(SelectiveScan, Bfloat16ActivationsMatchTheFloat64Reference) {
  torch::manual_seed(13);
  for (const Shape& s : {Shape{2, 13, 37, 16}, Shape{3, 9, 21, 15}}) {
    const Options o{true, true, true, true, true};
    SCOPED_TRACE(describe(s, o));
    const Inputs bf = make_inputs(s, o, torch::kBFloat16);
    const Inputs f64 = convert(bf, s, o, torch::kFloat64);
    const Tensor dy = torch::randn({s.batch, s.L, s.dim}, torch::kFloat64).to(torch::kBFloat16);
    expect_match(run_kernel(bf, true, dy), run_ref(f64, true, dy.to(torch::kFloat64)), bf.names, 1e-2);
  }
}

TEST_P(SelectiveScan, RejectsBadShapes) {
  const Tensor u = torch::randn({2, 3, 4});
  const Tensor A = -torch::ones({4, 2});
  const Tensor BC = torch::randn({2, 3, 2});
  EXPECT_THROW(ftmamba::ops::selective_scan(u, torch::randn({2, 3, 5}), A, BC, BC, {}, {}, {}), c10::Error);
  EXPECT_THROW(ftmamba::ops::selective_scan(u, u, -torch::ones({4, 3}), BC, BC, {}, {}, {}), c10::Error);
  EXPECT_THROW(ftmamba::ops::selective_scan(u, u, A, BC, BC, torch::ones({3}), {}, {}), c10::Error);
}

}  // namespace
