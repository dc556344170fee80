// defines: GPU tests of the CUDA selective scan and causal conv1d against the CPU reference (the float64 CPU
// kernels, themselves tested against plain LibTorch ops): forward and every gradient, float32 (relative
// error < 1e-5) and bfloat16 (< 1e-2), odd sizes, L in {1, 7, 64, 1000, 4096}, d_state in {1, 16}, under
// every forward launch layout; every output element written (buffers pre-filled with NaN); and a whole
// FT-Mamba tower on the GPU against the CPU; the GPU optimizer step against LibTorch's AdamW. Skipped, with
// the reason, without a GPU or without the CUDA build.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "ftmamba/nn/ft_mamba.h"
#include "ftmamba/ops/causal_conv1d.h"
#include "ftmamba/ops/selective_scan.h"
#include "ftmamba/train/multi_tensor_adamw.h"
#include "ftmamba/train/optimizer.h"
#include "gpu_skip.h"
#include "optimizer_check.h"
#ifdef FTMAMBA_WITH_CUDA
#include "ftmamba/kernels/selective_scan_cuda.h"
#include "ftmamba/ops/causal_conv1d_cuda.h"
#include "ftmamba/ops/selective_scan_cuda.h"
#endif

namespace {

using torch::Tensor;

// max |got - want| / max |want|, in float64 on the CPU.
double rel_err(const Tensor& got, const Tensor& want) {
  const Tensor a = got.detach().to(torch::kCPU, torch::kFloat64), b = want.detach().to(torch::kCPU, torch::kFloat64);
  if (b.numel() == 0) return 0.0;
  const double scale = std::max(b.abs().max().item<double>(), 1e-300);
  return (a - b).abs().max().item<double>() / scale;
}

[[maybe_unused]] bool all_finite(const Tensor& t) {
  return !t.defined() || torch::isfinite(t.to(torch::kFloat32)).all().item<bool>();
}

[[maybe_unused]] Tensor nan_like(const Tensor& t) { return t.defined() ? torch::full_like(t, std::nan("")) : t; }

double tolerance(torch::Dtype dtype) { return dtype == torch::kFloat32 ? 1e-5 : 1e-2; }

const char* dtype_name(torch::Dtype d) {
  return d == torch::kFloat32 ? "float32" : d == torch::kBFloat16 ? "bfloat16" : "float16";
}

// ---------------------------------------------------------------- selective scan

struct ScanCase {
  int64_t batch, L, dim, N;
  torch::Dtype dtype;
  bool z, D, bias, softplus, strided;
};

std::string describe(const ScanCase& c) {
  return "batch " + std::to_string(c.batch) + " L " + std::to_string(c.L) + " dim " + std::to_string(c.dim) + " N " +
         std::to_string(c.N) + " " + dtype_name(c.dtype) + (c.z ? " z" : "") + (c.D ? " D" : "") +
         (c.bias ? " bias" : "") + (c.softplus ? " softplus" : "") + (c.strided ? " strided" : "");
}

// The scan's inputs on one device: activations in `act`, parameters in float32 (GPU) or float64 (reference).
struct ScanTensors {
  Tensor u, delta, A, B, C, D, z, bias;
  std::vector<Tensor> leaves() const {
    std::vector<Tensor> v;
    for (const Tensor& t : {u, delta, A, B, C, D, z, bias})
      if (t.defined()) v.push_back(t);
    return v;
  }
};

const std::vector<std::string> kScanNames = {"u", "delta", "A", "B", "C", "D", "z", "delta_bias"};

// Random inputs, rounded once to the case's dtype; the reference gets exactly those values in float64.
struct ScanProblem {
  ScanTensors gpu, ref;
  Tensor dout_gpu, dout_ref;
};

ScanProblem make_problem(const ScanCase& c, uint64_t seed) {
  torch::manual_seed(seed);
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  const int64_t b = c.batch, L = c.L, d = c.dim, N = c.N;
  Tensor u = torch::randn({b, L, d}, f64), z = torch::randn({b, L, d}, f64);
  Tensor B = torch::randn({b, L, N}, f64), C = torch::randn({b, L, N}, f64);
  Tensor delta = c.softplus ? torch::randn({b, L, d}, f64) * 0.5 - 1.0 : torch::rand({b, L, d}, f64) * 0.2 + 0.05;
  Tensor bias = c.softplus ? torch::randn({d}, f64) * 0.5 : torch::rand({d}, f64) * 0.1;
  Tensor A = -torch::exp(torch::randn({d, N}, f64) * 0.5), D = torch::randn({d}, f64);
  Tensor dout = torch::randn({b, L, d}, f64);
  const auto round = [&](const Tensor& t) { return t.to(c.dtype).to(torch::kFloat64); };
  const auto f32r = [&](const Tensor& t) { return t.to(torch::kFloat32).to(torch::kFloat64); };
  u = round(u), z = round(z), B = round(B), C = round(C), delta = round(delta), dout = round(dout);
  A = f32r(A), D = f32r(D), bias = f32r(bias);

  ScanProblem p;
  const auto leaf = [](const Tensor& t) { return t.clone().requires_grad_(true); };
  p.ref = {leaf(u),
           leaf(delta),
           leaf(A),
           leaf(B),
           leaf(C),
           c.D ? leaf(D) : Tensor(),
           c.z ? leaf(z) : Tensor(),
           c.bias ? leaf(bias) : Tensor()};
  const auto cuda = torch::TensorOptions().device(torch::kCUDA);
  const auto act = [&](const Tensor& t) { return t.to(cuda.dtype(c.dtype)); };
  const auto par = [&](const Tensor& t) { return t.to(cuda.dtype(torch::kFloat32)).requires_grad_(true); };
  if (c.strided) {
    // As in the Mamba block: u and z are halves of in_proj's output, B and C slices of x_proj's.
    const Tensor xz = act(torch::cat({u, z}, 2)).requires_grad_(true);
    const Tensor x_dbl = act(torch::cat({torch::zeros({b, L, 3}, f64), B, C}, 2)).requires_grad_(true);
    p.gpu.u = xz.slice(2, 0, d);
    p.gpu.z = c.z ? xz.slice(2, d, 2 * d) : Tensor();
    p.gpu.B = x_dbl.slice(2, 3, 3 + N);
    p.gpu.C = x_dbl.slice(2, 3 + N, 3 + 2 * N);
  } else {
    p.gpu.u = act(u).requires_grad_(true);
    p.gpu.z = c.z ? act(z).requires_grad_(true) : Tensor();
    p.gpu.B = act(B).requires_grad_(true);
    p.gpu.C = act(C).requires_grad_(true);
  }
  p.gpu.delta = act(delta).requires_grad_(true);
  p.gpu.A = par(A);
  p.gpu.D = c.D ? par(D) : Tensor();
  p.gpu.bias = c.bias ? par(bias) : Tensor();
  p.dout_gpu = act(dout);
  p.dout_ref = dout;
  return p;
}

std::vector<std::string> present_names(const ScanTensors& t) {
  std::vector<std::string> names;
  const std::vector<Tensor> all = {t.u, t.delta, t.A, t.B, t.C, t.D, t.z, t.bias};
  for (size_t i = 0; i < all.size(); ++i)
    if (all[i].defined()) names.push_back(kScanNames[i]);
  return names;
}

void check_scan_against_reference(const ScanCase& c, uint64_t seed) {
  SCOPED_TRACE(describe(c));
  ScanProblem p = make_problem(c, seed);
  const ScanTensors& r = p.ref;
  const Tensor y_ref = ftmamba::ops::selective_scan(r.u, r.delta, r.A, r.B, r.C, r.D, r.z, r.bias, c.softplus);
  const auto g_ref = torch::autograd::grad({y_ref}, r.leaves(), {p.dout_ref});

  const ScanTensors& g = p.gpu;
  const Tensor y = ftmamba::ops::selective_scan(g.u, g.delta, g.A, g.B, g.C, g.D, g.z, g.bias, c.softplus);
  ASSERT_TRUE(y.is_cuda());
  ASSERT_EQ(y.scalar_type(), c.dtype);
  const auto grads = torch::autograd::grad({y}, g.leaves(), {p.dout_gpu});
  const double tol = tolerance(c.dtype);
  EXPECT_LT(rel_err(y, y_ref), tol) << "forward";
  const auto names = present_names(g);
  ASSERT_EQ(grads.size(), g_ref.size());
  for (size_t i = 0; i < grads.size(); ++i) {
    ASSERT_TRUE(grads[i].defined()) << names[i];
    ASSERT_EQ(grads[i].sizes(), g_ref[i].sizes()) << names[i];
    EXPECT_LT(rel_err(grads[i], g_ref[i]), tol) << "gradient of " << names[i];
  }
}

#ifdef FTMAMBA_WITH_CUDA
// Every element of every buffer the kernels write is overwritten (buffers start as NaN; inputs are finite).
void check_scan_writes_everything(const ScanCase& c) {
  SCOPED_TRACE(describe(c));
  namespace cs = ftmamba::ops::cuda_scan;
  ScanProblem p = make_problem(c, 7);
  torch::NoGradGuard no_grad;
  const auto contiguous_or_none = [](const Tensor& t) { return t.defined() ? t.detach().contiguous() : t; };
  const ScanTensors& g = p.gpu;
  cs::ScanInputs in{contiguous_or_none(g.u), contiguous_or_none(g.delta), g.A.detach(),
                    contiguous_or_none(g.B), contiguous_or_none(g.C),     contiguous_or_none(g.D),
                    contiguous_or_none(g.z), contiguous_or_none(g.bias),  c.softplus};
  const Tensor out = nan_like(in.u);
  const Tensor states = nan_like(cs::empty_saved_states(in));
  cs::forward_into(in, out, states);
  cs::ScanBackwardBuffers b = cs::empty_backward_buffers(in);
  for (Tensor* t : {&b.du, &b.ddelta, &b.dz, &b.dB_part, &b.dC_part, &b.dA_part, &b.dD_part, &b.ddelta_bias_part})
    *t = nan_like(*t);
  cs::backward_into(in, states, p.dout_gpu, b);
  torch::cuda::synchronize();
  EXPECT_TRUE(all_finite(out)) << "out";
  EXPECT_TRUE(all_finite(states)) << "saved states";
  const std::vector<std::pair<const char*, Tensor>> outs = {{"du", b.du},
                                                            {"ddelta", b.ddelta},
                                                            {"dz", b.dz},
                                                            {"dB partials", b.dB_part},
                                                            {"dC partials", b.dC_part},
                                                            {"dA partials", b.dA_part},
                                                            {"dD partials", b.dD_part},
                                                            {"ddelta_bias partials", b.ddelta_bias_part}};
  for (const auto& [name, t] : outs) EXPECT_TRUE(all_finite(t)) << name;
}
#endif

TEST(CudaSelectiveScan, MatchesCpuReferenceAcrossLengthsStatesAndDtypes) {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 1;
  for (torch::Dtype dtype : {torch::kFloat32, torch::kBFloat16})
    for (int64_t N : {1, 16})
      for (int64_t L : {1, 7, 64, 1000, 4096})
        check_scan_against_reference({L >= 1000 ? 2 : 3, L, 37, N, dtype, true, true, true, true, false}, seed++);
}

// The kernels address one batch row with 32-bit offsets; a row past that is refused before anything runs
// (no GPU needed: the check comes first), naming the limit.
TEST(CudaSelectiveScan, RefusesRowsPastThirtyTwoBitOffsets) {
#ifdef FTMAMBA_WITH_CUDA
  namespace k = ftmamba::kernels;
  k::SelectiveScanCudaParams p;
  p.batch = 1, p.seqlen = 3, p.dim = 8, p.dstate = 16;
  p.u_l_stride = p.delta_l_stride = p.z_l_stride = p.dim;
  p.B_l_stride = p.C_l_stride = p.dstate;
  p.delta_l_stride = int64_t(1) << 30;  // 3 steps of 2^30: past 2^31
  const auto expect_refused = [&](auto&& call) {
    try {
      call();
      FAIL() << "expected the row span to be refused";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("2^31"), std::string::npos) << e.what();
    }
  };
  expect_refused([&] { k::selective_scan_fwd_cuda(p); });
  expect_refused([&] { k::selective_scan_bwd_cuda(p, k::SelectiveScanCudaGrads{}); });
  p.delta_l_stride = p.dim;  // within the limit, the same shape passes the check (an empty batch runs nothing)
  p.batch = 0;
  EXPECT_NO_THROW(k::selective_scan_fwd_cuda(p));
#else
  GTEST_SKIP() << "built without CUDA";
#endif
}

TEST(CudaSelectiveScan, OptionsStridesAndOtherStateSizes) {
  SKIP_WITHOUT_GPU();
  // Without z / D / bias / softplus; with the Mamba block's strided views; d_state that fills no lane group
  // evenly (3, 5) and the largest the kernel takes (64); float16.
  check_scan_against_reference({2, 33, 19, 16, torch::kFloat32, false, false, false, false, false}, 101);
  check_scan_against_reference({3, 70, 41, 16, torch::kFloat32, true, true, true, true, true}, 102);
  check_scan_against_reference({3, 70, 41, 16, torch::kBFloat16, true, true, true, true, true}, 103);
  check_scan_against_reference({2, 29, 23, 3, torch::kFloat32, true, false, true, true, false}, 104);
  check_scan_against_reference({2, 29, 23, 5, torch::kFloat32, true, true, false, true, false}, 105);
  check_scan_against_reference({2, 40, 9, 64, torch::kFloat32, true, true, true, true, false}, 106);
  check_scan_against_reference({2, 40, 9, 16, torch::kFloat16, true, true, true, true, false}, 107);
  // 16-bit activations of even width.
  check_scan_against_reference({2, 50, 64, 16, torch::kBFloat16, true, true, true, true, false}, 109);
  check_scan_against_reference({3, 21, 18, 5, torch::kFloat16, true, true, true, true, false}, 110);
  // Many batch rows: the backward's batch groups each see several rows.
  check_scan_against_reference({600, 13, 24, 16, torch::kFloat32, true, true, true, true, true}, 108);
}

TEST(CudaSelectiveScan, ShortSequencesTakeShortBackwardChunksAndMatchTheReference) {
  SKIP_WITHOUT_GPU();
  // One-chunk sequences at d_state 16 run the backward on chunks of 8, 12 or 14 steps (the last step of
  // each, one before it, and one past it), and L 15 / 16 on the full chunk.
  uint64_t seed = 400;
  for (int64_t L : {2, 8, 9, 11, 12, 13, 14, 15, 16})
    check_scan_against_reference({5, L, 37, 16, torch::kFloat32, true, true, true, true, false}, seed++);
  for (int64_t L : {8, 13})
    check_scan_against_reference({5, L, 37, 16, torch::kBFloat16, true, true, true, true, false}, seed++);
#ifdef FTMAMBA_WITH_CUDA
  for (int64_t L : {8, 11, 14})
    check_scan_writes_everything({4, L, 33, 16, torch::kFloat32, true, true, true, true, false});
#endif
}

TEST(CudaSelectiveScan, WritesEveryOutputElement) {
  SKIP_WITHOUT_GPU();
#ifdef FTMAMBA_WITH_CUDA
  for (int64_t L : {1, 7, 64, 1000})
    for (int64_t N : {1, 16})
      check_scan_writes_everything({3, L, 37, N, torch::kFloat32, true, true, true, true, false});
  check_scan_writes_everything({5, 17, 130, 5, torch::kBFloat16, true, true, true, true, false});
  check_scan_writes_everything({700, 13, 33, 16, torch::kFloat32, true, true, true, true, false});
#endif
}

TEST(CudaSelectiveScan, EveryForwardLayoutMatchesTheReference) {
  SKIP_WITHOUT_GPU();
#ifdef FTMAMBA_WITH_CUDA
  namespace cs = ftmamba::ops::cuda_scan;
  // Restores the choice by shape however the test ends.
  struct Restore {
    ~Restore() { cs::force_forward_layout({}); }
  } restore;
  uint64_t seed = 300;
  // One lane, four lanes of four states or eight lanes of two states a channel, with L whole or in 3
  // segments; d_state 5 and 32 give two and eight lanes of four states (several lanes park output shares for
  // the loader to sum; 37 and 11 channels leave a block part empty). Two states a lane applies at d_state
  // 9 .. 16 only; elsewhere the layout falls back to four.
  // Four a lane also with scalar loads, where d_inner a multiple of 4 (40, 64 and 32 below) otherwise has
  // the loader take four channels at a time.
  for (const cs::ForwardLayout layout :
       {cs::ForwardLayout{16, 1}, cs::ForwardLayout{16, 3}, cs::ForwardLayout{4, 1}, cs::ForwardLayout{4, 3},
        cs::ForwardLayout{4, 1, true}, cs::ForwardLayout{2, 1}, cs::ForwardLayout{2, 3}}) {
    SCOPED_TRACE("states per lane " + std::to_string(layout.states_per_lane) + ", segments " +
                 std::to_string(layout.segments) + (layout.scalar_loads ? ", scalar loads" : ""));
    cs::force_forward_layout(layout);
    for (torch::Dtype dtype : {torch::kFloat32, torch::kBFloat16})
      for (int64_t L : {7, 1000})
        check_scan_against_reference({2, L, 37, 16, dtype, true, true, true, true, false}, seed++);
    check_scan_against_reference({2, 300, 19, 5, torch::kFloat32, true, true, true, true, true}, seed++);
    check_scan_against_reference({2, 300, 11, 32, torch::kFloat32, false, true, false, true, false}, seed++);
    check_scan_against_reference({2, 300, 37, 12, torch::kBFloat16, true, true, true, true, false}, seed++);
    check_scan_writes_everything({3, 1000, 37, 16, torch::kFloat32, true, true, true, true, false});
    // d_inner a multiple of 8: a partial last channel block (40 of 64 at four lanes), no z, the Mamba
    // block's strided views, a sequence shorter than a tile.
    check_scan_against_reference({2, 1000, 40, 16, torch::kBFloat16, true, true, true, true, false}, seed++);
    check_scan_against_reference({3, 333, 64, 12, torch::kFloat32, false, true, true, true, false}, seed++);
    check_scan_against_reference({2, 300, 64, 16, torch::kBFloat16, true, true, true, true, true}, seed++);
    check_scan_against_reference({5, 7, 32, 16, torch::kFloat32, true, true, true, true, false}, seed++);
    check_scan_writes_everything({3, 1000, 40, 16, torch::kBFloat16, true, true, true, true, false});
  }
#endif
}

TEST(CudaSelectiveScan, EveryBackwardLayoutMatchesTheReference) {
  SKIP_WITHOUT_GPU();
#ifdef FTMAMBA_WITH_CUDA
  namespace cs = ftmamba::ops::cuda_scan;
  struct Restore {
    ~Restore() { cs::force_backward_layout({}); }
  } restore;
  uint64_t seed = 500;
  // Group sums: groups of 2 with the first warp forming the outputs (1), or groups of 4 with the sums spread
  // over the block (4). Segments: L whole (1), or split into 2, 3 or 7 (1000 steps: 7 segments of 144, the
  // last shorter), each walked from the adjoint the later segments pass back. The cases: full chunks
  // (L 1000, 33 with a partial last chunk and a partial last group), the short chunks of 8 and 14 steps
  // (groups of 2 and no segments either way), d_state 12 (4 lanes, padded states), 5 (2 lanes: always
  // groups of 2) and 64 (16 lanes); without z / D / bias / softplus; many rows (each block walks several).
  for (const cs::BackwardLayout layout : {cs::BackwardLayout{1, 1}, cs::BackwardLayout{4, 1}, cs::BackwardLayout{1, 2},
                                          cs::BackwardLayout{4, 3}, cs::BackwardLayout{0, 7}}) {
    SCOPED_TRACE("backward sums " + std::to_string(layout.sums) + ", segments " + std::to_string(layout.segments));
    cs::force_backward_layout(layout);
    for (torch::Dtype dtype : {torch::kFloat32, torch::kBFloat16})
      for (int64_t L : {13, 1000})
        check_scan_against_reference({2, L, 37, 16, dtype, true, true, true, true, false}, seed++);
    check_scan_against_reference({3, 33, 45, 12, torch::kFloat32, true, false, true, true, true}, seed++);
    check_scan_against_reference({4, 8, 37, 16, torch::kFloat32, false, true, false, true, false}, seed++);
    check_scan_against_reference({3, 300, 19, 5, torch::kFloat32, true, true, true, true, true}, seed++);
    check_scan_against_reference({2, 200, 9, 64, torch::kFloat32, true, true, true, true, false}, seed++);
    check_scan_against_reference({2, 333, 41, 16, torch::kFloat32, false, false, false, false, false}, seed++);
    check_scan_against_reference({300, 21, 24, 16, torch::kFloat32, true, true, true, true, true}, seed++);
    check_scan_against_reference({600, 40, 37, 16, torch::kFloat32, true, true, true, true, false}, seed++);
    check_scan_writes_everything({3, 1000, 37, 16, torch::kFloat32, true, true, true, true, false});
    check_scan_writes_everything({4, 14, 33, 16, torch::kFloat32, true, true, true, true, false});
    // Rows that start 16-byte aligned (d_inner a multiple of 8 in bf16, of 4 in fp32): the next chunk's
    // u / delta / z / dout come by asynchronous copies during the current chunk's walk. A partial last
    // channel block (40 of 64), without z, the Mamba block's strided views, one-chunk rows (13 steps,
    // each block walking many rows); the other dims above take the direct loads.
    check_scan_against_reference({2, 1000, 40, 16, torch::kBFloat16, true, true, true, true, false}, seed++);
    check_scan_against_reference({3, 33, 64, 12, torch::kFloat32, false, true, true, true, false}, seed++);
    check_scan_against_reference({2, 300, 64, 16, torch::kBFloat16, true, true, true, true, true}, seed++);
    check_scan_against_reference({200, 13, 32, 16, torch::kBFloat16, true, true, true, true, false}, seed++);
    check_scan_writes_everything({3, 100, 40, 16, torch::kBFloat16, true, true, true, true, false});
  }
  // By shape: few channels at batch 1 split L (segments of at least 64 steps).
  cs::force_backward_layout({});
  check_scan_against_reference({1, 1500, 64, 16, torch::kFloat32, true, true, true, true, false}, seed++);
#endif
}

// ---------------------------------------------------------------- causal conv1d

struct ConvCase {
  int64_t batch, L, channels, width;
  torch::Dtype dtype;
  bool bias, silu;
};

void check_conv_against_reference(const ConvCase& c, uint64_t seed) {
  SCOPED_TRACE("batch " + std::to_string(c.batch) + " L " + std::to_string(c.L) + " channels " +
               std::to_string(c.channels) + " width " + std::to_string(c.width) + " " + dtype_name(c.dtype) +
               (c.bias ? " bias" : "") + (c.silu ? " silu" : ""));
  torch::manual_seed(seed);
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  const Tensor x = torch::randn({c.batch, c.L, c.channels}, f64).to(c.dtype).to(torch::kFloat64);
  const Tensor w = torch::randn({c.channels, c.width}, f64).to(torch::kFloat32).to(torch::kFloat64);
  const Tensor bias = torch::randn({c.channels}, f64).to(torch::kFloat32).to(torch::kFloat64);
  const Tensor dout = torch::randn({c.batch, c.L, c.channels}, f64).to(c.dtype).to(torch::kFloat64);
  const auto leaf = [](const Tensor& t) { return t.clone().requires_grad_(true); };
  const Tensor xr = leaf(x), wr = leaf(w), br = c.bias ? leaf(bias) : Tensor();
  const Tensor yr = ftmamba::ops::causal_conv1d(xr, wr, br, c.silu);
  std::vector<Tensor> ref_leaves = {xr, wr};
  if (c.bias) ref_leaves.push_back(br);
  const auto g_ref = torch::autograd::grad({yr}, ref_leaves, {dout});

  const auto cuda = torch::TensorOptions().device(torch::kCUDA);
  const Tensor xg = x.to(cuda.dtype(c.dtype)).requires_grad_(true);
  const Tensor wg = w.to(cuda.dtype(torch::kFloat32)).requires_grad_(true);
  const Tensor bg = c.bias ? bias.to(cuda.dtype(torch::kFloat32)).requires_grad_(true) : Tensor();
  const Tensor y = ftmamba::ops::causal_conv1d(xg, wg, bg, c.silu);
  ASSERT_TRUE(y.is_cuda());
  std::vector<Tensor> leaves = {xg, wg};
  if (c.bias) leaves.push_back(bg);
  const auto grads = torch::autograd::grad({y}, leaves, {dout.to(cuda.dtype(c.dtype))});
  const double tol = tolerance(c.dtype);
  EXPECT_LT(rel_err(y, yr), tol) << "forward";
  const char* names[] = {"x", "weight", "bias"};
  for (size_t i = 0; i < grads.size(); ++i) EXPECT_LT(rel_err(grads[i], g_ref[i]), tol) << "gradient of " << names[i];

#ifdef FTMAMBA_WITH_CUDA
  // Every element written: the raw calls on NaN-filled buffers.
  namespace cc = ftmamba::ops::cuda_conv;
  torch::NoGradGuard no_grad;
  const cc::ConvInputs in{xg.detach(), wg.detach(), c.bias ? bg.detach() : Tensor(), c.silu};
  const Tensor out = nan_like(in.x);
  cc::forward_into(in, out);
  cc::ConvBackwardBuffers b = cc::empty_backward_buffers(in);
  b.dx = nan_like(b.dx), b.dweight_part = nan_like(b.dweight_part), b.dbias_part = nan_like(b.dbias_part);
  cc::backward_into(in, dout.to(cuda.dtype(c.dtype)), b);
  EXPECT_TRUE(all_finite(out) && all_finite(b.dx) && all_finite(b.dweight_part) && all_finite(b.dbias_part));
#endif
}

TEST(CudaCausalConv1d, MatchesCpuReference) {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 200;
  for (torch::Dtype dtype : {torch::kFloat32, torch::kBFloat16})
    for (int64_t L : {1, 7, 64, 1000})
      for (int64_t width : {2, 4}) check_conv_against_reference({3, L, 37, width, dtype, true, true}, seed++);
  check_conv_against_reference({2, 45, 130, 3, torch::kFloat32, false, false}, seed++);
  check_conv_against_reference({2, 45, 130, 1, torch::kFloat32, true, false}, seed++);
  check_conv_against_reference({900, 13, 24, 4, torch::kFloat32, true, true}, seed++);
}

// ---------------------------------------------------------------- a whole tower

TEST(CudaFTMamba, TowerOnGpuMatchesCpu) {
  SKIP_WITHOUT_GPU();
  torch::manual_seed(5);
  ftmamba::nn::EncoderConfig cfg;
  cfg.d_token = 32;
  cfg.embed_dim = 16;
  cfg.n_layers = 2;
  ftmamba::nn::FTMambaEncoder cpu(cfg, {5, 3, 40, {}});
  ftmamba::nn::FTMambaEncoder gpu(cfg, {5, 3, 40, {}});
  {
    torch::NoGradGuard g;
    auto src = cpu.parameters(), dst = gpu.parameters();
    for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
  }
  gpu.to(torch::kCUDA);
  const Tensor num = torch::randn({64, 5}), miss = (torch::rand({64, 5}) < 0.1).to(torch::kFloat32);
  const Tensor cat = torch::randint(0, 40, {64, 3}, torch::kInt64);
  const Tensor w = torch::randn({64, 16});
  const Tensor loss_cpu = (cpu.forward(num, miss, cat) * w).sum();
  const Tensor loss_gpu = (gpu.forward(num.cuda(), miss.cuda(), cat.cuda()) * w.cuda()).sum();
  loss_cpu.backward();
  loss_gpu.backward();
  EXPECT_LT(std::abs(loss_cpu.item<double>() - loss_gpu.item<double>()),
            1e-4 * std::max(1.0, std::abs(loss_cpu.item<double>())));
  auto pc = cpu.named_parameters(), pg = gpu.named_parameters();
  for (const auto& item : pc) {
    const Tensor& gc = item.value().grad();
    const Tensor& gg = pg[item.key()].grad();
    ASSERT_TRUE(gg.defined()) << item.key();
    EXPECT_LT(rel_err(gg, gc), 1e-3) << item.key();
  }
}

// ---------------------------------------------------------------- the GPU optimizer step

TEST(CudaMultiTensorAdamW, MatchesLibTorchAdamWOnTheGpu) {
  SKIP_WITHOUT_GPU();
  EXPECT_LT(ftmamba::test::multi_tensor_adamw_max_difference(torch::kCUDA, torch::kFloat32), 1e-6);
}

TEST(CudaMultiTensorAdamW, NonFiniteStepsAreSkippedOnTheDevice) {
  SKIP_WITHOUT_GPU();
  EXPECT_EQ(ftmamba::test::nonfinite_steps_change_nothing(torch::kCUDA), 0.0);
}

}  // namespace
