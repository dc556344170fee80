// ops::mamba_mix, the conv + x_proj + dt_proj + scan of a Mamba layer as one autograd node. In float64 its output
// and the gradient of every input against the same composed from the reference ops, on odd sizes, gated and not,
// with and without the conv's bias and D; in float32 and bfloat16 on the CPU against float64; what autograd keeps
// for its backward against the ops written out (the point of the node); and on a GPU, when there is one, against
// the float64 reference, and what it keeps there.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <vector>

#include "ftmamba/core/device.h"
#include "ftmamba/nn/mamba.h"
#include "ftmamba/ops/causal_conv1d.h"
#include "ftmamba/ops/mamba_mix.h"
#include "ftmamba/ops/selective_scan.h"
#include "gpu_skip.h"
#include "heap_in_use.h"

namespace ops = ftmamba::ops;

namespace {

const auto kF64 = torch::TensorOptions().dtype(torch::kFloat64);

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64).cpu() - b.to(torch::kFloat64).cpu()).abs().max().item<double>();
}
double max_abs(const torch::Tensor& a) { return a.abs().max().item<double>(); }

struct Sizes {
  int64_t batch, L, d_inner, d_state, rank, width;
};

// The leaves: xz and the weights as a layer holds them (A through A_log, as nn::Mamba trains it).
struct Leaves {
  torch::Tensor xz, conv_weight, conv_bias, x_proj, dt_proj, dt_bias, A_log, D;

  std::vector<torch::Tensor> all() const {
    std::vector<torch::Tensor> v;
    for (const auto* t : {&xz, &conv_weight, &conv_bias, &x_proj, &dt_proj, &dt_bias, &A_log, &D})
      if (t->defined()) v.push_back(*t);
    return v;
  }
  ops::MambaMixWeights weights() const { return {conv_weight, conv_bias, x_proj, dt_proj, dt_bias, -A_log.exp(), D}; }
  // New leaves on `device`: xz, x_proj and dt_proj in `act` (what autocast gives the node), the rest float32.
  Leaves copy_to(torch::Device device, torch::ScalarType act) const {
    const auto copy = [&](const torch::Tensor& t, torch::ScalarType dt) {
      return t.defined() ? t.detach().to(device, dt).requires_grad_() : t;
    };
    const auto f32 = torch::kFloat32;
    return {copy(xz, act),      copy(conv_weight, f32), copy(conv_bias, f32), copy(x_proj, act),
            copy(dt_proj, act), copy(dt_bias, f32),     copy(A_log, f32),     copy(D, f32)};
  }
};

Leaves make_leaves(const Sizes& s, bool gated, bool conv_bias, bool with_D, torch::TensorOptions o) {
  Leaves l;
  const auto leaf = [&](torch::Tensor t) { return t.to(o).requires_grad_(); };
  l.xz = leaf(torch::randn({s.batch, s.L, (gated ? 2 : 1) * s.d_inner}, kF64));
  l.conv_weight = leaf(torch::randn({s.d_inner, s.width}, kF64) * 0.5);
  if (conv_bias) l.conv_bias = leaf(torch::randn({s.d_inner}, kF64) * 0.1);
  l.x_proj = leaf(torch::randn({s.rank + 2 * s.d_state, s.d_inner}, kF64) / std::sqrt(double(s.d_inner)));
  l.dt_proj = leaf(torch::randn({s.d_inner, s.rank}, kF64) / std::sqrt(double(s.rank)));
  l.dt_bias = leaf(torch::rand({s.d_inner}, kF64) * 2 - 3);  // softplus^-1 of time steps around 0.05 to 0.3
  l.A_log = leaf(torch::log(torch::arange(1, s.d_state + 1, kF64)).repeat({s.d_inner, 1}) +
                 0.1 * torch::randn({s.d_inner, s.d_state}, kF64));
  if (with_D) l.D = leaf(torch::randn({s.d_inner}, kF64));
  return l;
}

// Gradients of sum(y * dy) for every leaf.
std::vector<torch::Tensor> gradients(const torch::Tensor& y, const torch::Tensor& dy, const Leaves& l) {
  return torch::autograd::grad({(y * dy.to(y.dtype())).sum()}, l.all());
}

}  // namespace

TEST(MambaMix, OutputAndEveryGradientEqualTheReferenceOpsInFloat64) {
  torch::manual_seed(11);
  // Odd sizes: d_inner not a whole number of SIMD vectors; one batch row, whose channels the kernels split between
  // threads; and a sequence long enough for the scan's backward to work in time chunks.
  for (const Sizes& s : {Sizes{3, 7, 13, 5, 3, 4}, Sizes{1, 9, 37, 4, 3, 4}, Sizes{1, 150, 37, 4, 3, 4}}) {
    for (const bool gated : {true, false}) {
      for (const bool extras : {true, false}) {
        if (s.L > 100 && !(gated && extras)) continue;
        SCOPED_TRACE(::testing::Message() << "L " << s.L << ", gated " << gated << ", conv bias and D " << extras);
        const Leaves l = make_leaves(s, gated, extras, extras, kF64);
        const auto y = ops::mamba_mix(l.xz, l.weights(), gated);
        const auto want = ops::mamba_mix_reference(l.xz, l.weights(), gated);
        ASSERT_EQ(y.sizes(), want.sizes());
        EXPECT_LT(max_diff(y, want), 1e-12);
        EXPECT_GT(max_abs(want), 1e-2);
        const auto dy = torch::randn(y.sizes(), kF64);
        const auto got_g = gradients(y, dy, l), want_g = gradients(want, dy, l);
        ASSERT_EQ(got_g.size(), want_g.size());
        for (size_t i = 0; i < got_g.size(); ++i) {
          SCOPED_TRACE(::testing::Message() << "leaf " << i);
          EXPECT_GT(max_abs(want_g[i]), 1e-6);
          EXPECT_LT(max_diff(got_g[i], want_g[i]), 1e-10 * (1 + max_abs(want_g[i])));
        }
      }
    }
  }
}

TEST(MambaMix, FrozenWeightsGetNoGradientAndTheRestStillDo) {
  torch::manual_seed(12);
  const Sizes s{2, 5, 9, 4, 2, 3};
  Leaves l = make_leaves(s, true, true, true, kF64);
  for (auto* t : {&l.conv_weight, &l.conv_bias, &l.x_proj, &l.dt_proj}) t->requires_grad_(false);
  const auto y = ops::mamba_mix(l.xz, l.weights(), true);
  const auto want = ops::mamba_mix_reference(l.xz, l.weights(), true);
  const auto dy = torch::randn(y.sizes(), kF64);
  const auto got = torch::autograd::grad({(y * dy).sum()}, {l.xz, l.A_log, l.D, l.dt_bias});
  const auto ref = torch::autograd::grad({(want * dy).sum()}, {l.xz, l.A_log, l.D, l.dt_bias});
  for (size_t i = 0; i < got.size(); ++i) EXPECT_LT(max_diff(got[i], ref[i]), 1e-10 * (1 + max_abs(ref[i])));
}

// A layer whose x_proj and dt_proj carry LoRA adapters gives the node the weights they apply, W + (alpha / rank) B A:
// the output and the adapters' gradients against the layer written out with each adapter as its own two products.
TEST(MambaMix, AdaptersOnXProjAndDtProjGoInAsTheWeightsTheyApply) {
  torch::manual_seed(16);
  ftmamba::nn::MambaConfig cfg;
  cfg.d_model = 12;
  cfg.d_state = 5;
  cfg.dt_rank = 3;
  ftmamba::nn::Mamba layer(cfg);
  layer->to(torch::kFloat64);
  for (auto* p : {&layer->x_proj, &layer->dt_proj}) {
    (*p)->attach_lora({4, 8.0, 0.0});
    torch::NoGradGuard no_grad;
    (*p)->lora_B->weight.normal_(0, 0.3);  // not the zero start, so the adapters change the output
  }
  const auto u = torch::randn({2, 9, cfg.d_model}, kF64);
  const auto y = layer->forward(u);
  // Written out: each adapter as x A^T B^T (alpha / rank) beside its base product.
  const int64_t di = cfg.d_inner(), R = cfg.rank(), N = cfg.d_state;
  const auto xz = layer->in_proj(u);
  const auto x = ops::causal_conv1d_ref(xz.narrow(2, 0, di), layer->conv1d->weight.view({di, cfg.d_conv}),
                                        layer->conv1d->bias, true);
  const auto x_dbl = layer->x_proj->forward(x);
  const auto delta = layer->dt_proj->forward_without_bias(x_dbl.narrow(2, 0, R));
  const auto want = layer->out_proj(ops::selective_scan_ref(x, delta, -torch::exp(layer->A_log), x_dbl.narrow(2, R, N),
                                                            x_dbl.narrow(2, R + N, N), layer->D, xz.narrow(2, di, di),
                                                            layer->dt_proj->bias, true));
  EXPECT_LT(max_diff(y, want), 1e-12);
  const std::vector<torch::Tensor> adapters{layer->x_proj->lora_A->weight, layer->x_proj->lora_B->weight,
                                            layer->dt_proj->lora_A->weight, layer->dt_proj->lora_B->weight};
  const auto dy = torch::randn(y.sizes(), kF64);
  const auto got = torch::autograd::grad({(y * dy).sum()}, adapters);
  const auto ref = torch::autograd::grad({(want * dy).sum()}, adapters);
  for (size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE(::testing::Message() << "adapter weight " << i);
    EXPECT_GT(max_abs(ref[i]), 1e-6);
    EXPECT_LT(max_diff(got[i], ref[i]), 1e-10 * (1 + max_abs(ref[i])));
  }
}

TEST(MambaMix, Float32AndBfloat16OnTheCpuFollowFloat64) {
  torch::manual_seed(13);
  const Sizes s{2, 19, 40, 16, 4, 4};
  const Leaves l64 = make_leaves(s, true, true, true, kF64);
  const auto want = ops::mamba_mix_reference(l64.xz, l64.weights(), true);
  const auto dy = torch::randn(want.sizes(), kF64);
  const auto want_g = gradients(want, dy, l64);
  // float32 throughout; bfloat16 activations with float32 parameters (what autocast gives the node).
  for (const auto act : {torch::kFloat32, torch::kBFloat16}) {
    SCOPED_TRACE(act == torch::kFloat32 ? "float32" : "bfloat16");
    const Leaves l = l64.copy_to(torch::kCPU, act);
    const auto y = ops::mamba_mix(l.xz, l.weights(), true);
    ASSERT_EQ(y.scalar_type(), act);
    const double tol = act == torch::kFloat32 ? 1e-4 : 5e-2;
    EXPECT_LT(max_diff(y, want), tol * (1 + max_abs(want)));
    const auto got_g = gradients(y, dy, l);
    for (size_t i = 0; i < got_g.size(); ++i) {
      SCOPED_TRACE(::testing::Message() << "leaf " << i);
      EXPECT_EQ(got_g[i].scalar_type(), l.all()[i].scalar_type());
      EXPECT_LT(max_diff(got_g[i], want_g[i]), tol * (1 + max_abs(want_g[i])));
    }
  }
}

// What autograd keeps, read off the C library's heap (glibc's mallinfo2): the written-out ops keep the conv's output
// x and dt_proj's output delta, (tokens, d_inner) each; the node keeps only x_proj's (tokens, rank + 2 d_state).
TEST(MambaMix, KeepsNeitherTheConvsOutputNorDeltaForTheBackward) {
  torch::manual_seed(14);
  const Sizes s{8, 64, 256, 16, 8, 4};
  Leaves l = make_leaves(s, true, true, true, torch::TensorOptions().dtype(torch::kFloat32));
  const auto w = l.weights();  // A computed once, outside both measurements
  const int64_t plane = s.batch * s.L * s.d_inner * static_cast<int64_t>(sizeof(float));  // 512 KiB
  int64_t node_bytes = 0, ops_bytes = 0;
  {
    const int64_t before = ftmamba::test::heap_bytes_in_use();
    const auto y = ops::mamba_mix(l.xz, w, true);  // y and what its backward keeps stay alive in this scope
    node_bytes = ftmamba::test::heap_bytes_in_use() - before;
  }
  {
    const int64_t before = ftmamba::test::heap_bytes_in_use();
    const int64_t di = s.d_inner, R = s.rank, N = s.d_state;
    const auto x = ops::causal_conv1d(l.xz.narrow(2, 0, di), w.conv_weight, w.conv_bias, true);
    const auto x_dbl = torch::linear(x, w.x_proj);
    const auto delta = torch::linear(x_dbl.narrow(2, 0, R), w.dt_proj);
    const auto y = ops::selective_scan(x, delta, w.A, x_dbl.narrow(2, R, N), x_dbl.narrow(2, R + N, N), w.D,
                                       l.xz.narrow(2, di, di), w.dt_bias, true);
    ops_bytes = ftmamba::test::heap_bytes_in_use() - before;
  }
  std::printf("kept for the backward: the node %lld bytes, the ops written out %lld (one plane %lld)\n",
              static_cast<long long>(node_bytes), static_cast<long long>(ops_bytes), static_cast<long long>(plane));
  EXPECT_LT(node_bytes, plane + plane / 4) << "y, x_proj's output and little else";
  EXPECT_GT(ops_bytes - node_bytes, 2 * plane - plane / 4) << "the written-out ops keep x and delta besides";
}

TEST(MambaMix, CudaEqualsTheFloat64Reference) {
  SKIP_WITHOUT_GPU();
  torch::manual_seed(15);
  // L 9: a sequence of one chunk, whose backward needs no chunk states.
  for (const Sizes& s : {Sizes{3, 37, 72, 16, 5, 4}, Sizes{2, 300, 64, 16, 4, 3}, Sizes{64, 9, 64, 16, 2, 4}}) {
    const Leaves l64 = make_leaves(s, true, true, true, kF64);
    const auto want = ops::mamba_mix_reference(l64.xz, l64.weights(), true);
    const auto dy = torch::randn(want.sizes(), kF64);
    const auto want_g = gradients(want, dy, l64);
    const Leaves l = l64.copy_to(torch::kCUDA, torch::kFloat32);
    torch::globalContext().setAllowTF32CuBLAS(false);
    const auto y = ops::mamba_mix(l.xz, l.weights(), true);
    EXPECT_LT(max_diff(y, want), 1e-4 * (1 + max_abs(want)));
    const auto got_g = gradients(y, dy.to(torch::kCUDA), l);
    for (size_t i = 0; i < got_g.size(); ++i) {
      SCOPED_TRACE(::testing::Message() << "L " << s.L << ", leaf " << i);
      EXPECT_LT(max_diff(got_g[i], want_g[i]), 2e-4 * (1 + max_abs(want_g[i])));
    }
  }
}

// On a GPU the node keeps no chunk states of the scan (the backward writes them again, one layer at a time): what
// stays allocated after the forward is y and x_proj's output. Kept, the states of this input would be
// (4, 31, 256, 16) float32, 2 MiB, twice y.
TEST(MambaMix, CudaKeepsNoChunkStatesForTheBackward) {
  SKIP_WITHOUT_GPU();
  torch::manual_seed(16);
  const Sizes s{4, 512, 256, 16, 8, 4};
  const Leaves l = make_leaves(s, true, true, true, kF64).copy_to(torch::kCUDA, torch::kBFloat16);
  const auto w = l.weights();  // A made once, outside the measurement
  const torch::Device gpu(torch::kCUDA, 0);
  const int64_t y_bytes = s.batch * s.L * s.d_inner * 2;                     // 1 MiB of bf16
  const int64_t x_dbl_bytes = s.batch * s.L * (s.rank + 2 * s.d_state) * 2;  // 160 KiB
  {  // cuBLAS's workspace comes from the same allocator on the first product: outside the measurement
    const torch::NoGradGuard no_grad;
    ops::mamba_mix(l.xz, w, true);
  }
  const int64_t before = ftmamba::gpu_allocated_bytes(gpu);
  const auto y = ops::mamba_mix(l.xz, w, true);
  const int64_t kept = ftmamba::gpu_allocated_bytes(gpu) - before;
  std::printf("kept after the forward: %lld bytes (y %lld, x_proj's output %lld)\n", static_cast<long long>(kept),
              static_cast<long long>(y_bytes), static_cast<long long>(x_dbl_bytes));
  EXPECT_GE(kept, y_bytes + x_dbl_bytes);
  EXPECT_LT(kept, y_bytes + x_dbl_bytes + y_bytes / 4) << "y, x_proj's output and little else";
  // And the backward, with the states made again, still runs to every leaf.
  y.to(torch::kFloat32).square().sum().backward();
  for (const auto& t : l.all()) EXPECT_TRUE(t.grad().defined() && t.grad().isfinite().all().item<bool>());
}
