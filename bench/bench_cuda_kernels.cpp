// defines: bench_cuda_kernels, timing the CUDA selective scan (forward for inference, forward saving chunk
// states, backward with its partial-sum reduction) and the causal conv1d at the LM shape (batch 8, d_inner 1536,
// L 2048, N 16) and the tabular shape (batch 2048, d_inner 256, L 13, N 16), in float32 and bfloat16, beside
// the device-to-device copy bandwidth measured in the same run, and LibTorch's cuDNN conv1d beside ours.
// Prints one JSON line per figure with the minimal bytes each call must move and the achieved fraction of
// copy bandwidth, and the forward under each of its launch layouts.
// Usage: bench_cuda_kernels [--reps N] [--shape lm|tabular|all|decode|decode-layers|BATCHxLxD_INNERxD_STATE]
//                           [--dtype float32|bfloat16|all]
//   A shape such as 1x1024x2048x16 (Mamba-370M fine-tuning, batch 1, L 1024) is timed under the name "custom".
//   --shape decode times the decode step's matrix-vector products at the 370M shape, batch 1 (in_proj, x_proj,
//   out_proj, the LM head): ops::linear_rows (ftmamba's kernel) beside LibTorch's mv, each call's weight bytes
//   against the copy bandwidth. Calls cycle through copies of the weight, so that none is read from L2.
//   --shape decode-layers times a decode step's 48 Mamba layers at the 370M shape, batch 1, in one kernel
//   (ops::decode_layers) against the floor of reading their weights at the copy bandwidth, then profiles one step:
//   for each of a layer's phases (ops::decode_layers_phases), the mean and the slowest block's time from one grid
//   barrier to the next, and the barrier's own wait (the median block's exit less the last block's arrival), averaged
//   over the layers.
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "ftmamba/core/timer.h"

#ifdef FTMAMBA_WITH_CUDA
#include "ftmamba/ops/causal_conv1d_cuda.h"
#include "ftmamba/ops/decode_layers.h"
#include "ftmamba/ops/decode_linear.h"
#include "ftmamba/ops/selective_scan_cuda.h"
#endif

#ifdef FTMAMBA_WITH_CUDA
namespace {
using torch::Tensor;

// Median over rounds of the mean time of `reps` back-to-back calls, in microseconds (GPU work included). The
// calls are queued back to back and the clock waits for the device once per round, so the round measures the
// kernels, not one host synchronisation per call.
double time_us(const std::function<void()>& f, int reps) {
  f();
  std::vector<double> rounds;
  for (int r = 0; r < 7; ++r) {
    const ftmamba::Stopwatch watch(torch::kCUDA);  // waits for the warm-up or the last round first
    for (int i = 0; i < reps; ++i) f();
    rounds.push_back(watch.wall_ms() * 1e3 / reps);
  }
  std::sort(rounds.begin(), rounds.end());
  return rounds[rounds.size() / 2];
}

// A decode step's layers at the 370M shape (d_model 1024, d_inner 2048, dt rank 64, conv width 4), random weights
// with the matrices in `dtype`, their states zero, batch 1.
struct DecodeStep {
  std::vector<ftmamba::ops::DecodeLayer> layers;
  std::vector<Tensor> conv, ssm;
  double weight_bytes = 0;
};

DecodeStep decode_step(int64_t n_layers, torch::ScalarType dtype) {
  const int64_t d = 1024, di = 2048, rank = 64, n = 16, width = 4;
  const auto f32 = torch::TensorOptions().device(torch::kCUDA).dtype(torch::kFloat32);
  auto matrix = [&](int64_t rows, int64_t cols) {
    return (torch::randn({rows, cols}, f32) / std::sqrt(cols)).to(dtype);
  };
  DecodeStep s;
  s.conv.reserve(n_layers);  // the layers point at these
  s.ssm.reserve(n_layers);
  for (int64_t i = 0; i < n_layers; ++i) {
    s.conv.push_back(torch::zeros({1, width - 1, di}, f32.dtype(dtype)));
    s.ssm.push_back(torch::zeros({1, di, n}, f32));
    ftmamba::ops::DecodeLayer l;
    l.norm_weight = torch::ones({d}, f32);
    l.in_proj = matrix(2 * di, d);
    l.conv_weight = torch::randn({di, width}, f32) * 0.3;
    l.conv_bias = torch::randn({di}, f32) * 0.1;
    l.x_proj = matrix(rank + 2 * n, di);
    l.dt_proj = matrix(di, rank);
    l.dt_bias = torch::full({di}, -3.0, f32);
    l.A_log = torch::log(torch::arange(1, n + 1, f32)).repeat({di, 1});
    l.D = torch::ones({di}, f32);
    l.out_proj = matrix(d, di);
    l.conv_state = &s.conv.back();
    l.ssm_state = &s.ssm.back();
    for (const Tensor& t : {l.in_proj, l.x_proj, l.dt_proj, l.out_proj, l.norm_weight, l.conv_weight, l.conv_bias,
                            l.dt_bias, l.A_log, l.D})
      s.weight_bytes += double(t.numel()) * t.element_size();
    s.layers.push_back(std::move(l));
  }
  return s;
}

// The decode step's time against its floor, then the profile of one step (see the usage above).
void bench_decode_layers(const std::string& only_dtype, int reps, double copy_gbs) {
  constexpr int64_t kLayers = 48;
  for (const auto dtype : {torch::kFloat32, torch::kBFloat16}) {
    const char* name = dtype == torch::kFloat32 ? "float32" : "bfloat16";
    if (only_dtype != "all" && only_dtype != name) continue;
    DecodeStep s = decode_step(kLayers, dtype);
    const Tensor x = torch::randn({1, 1024}, torch::TensorOptions().device(torch::kCUDA));
    const double us = time_us([&] { ftmamba::ops::decode_layers(x, s.layers); }, reps);
    const double floor_us = s.weight_bytes / (copy_gbs * 1e9) * 1e6;
    std::printf(
        "{\"bench\": \"decode_layers\", \"layers\": %ld, \"dtype\": \"%s\", \"weight_bytes\": %.0f, "
        "\"us\": %.1f, \"floor_us\": %.1f, \"of_floor\": %.3f}\n",
        static_cast<long>(kLayers), name, s.weight_bytes, us, floor_us, floor_us / us);
    Tensor clock;
    ftmamba::ops::decode_layers(x, s.layers, &clock);
    const Tensor marks = clock.cpu().to(torch::kFloat64);  // (blocks, marks), ns
    const auto names = ftmamba::ops::decode_layers_phases();
    const int64_t blocks = marks.size(0), barriers = (marks.size(1) - 2) / 2;
    const int64_t phases = static_cast<int64_t>(names.size());
    const auto m = marks.accessor<double, 2>();
    std::vector<double> work_mean(phases), work_max(phases), wait(phases);
    for (int64_t k = 1; k <= barriers + 1; ++k) {  // the phase ended by barrier k (the last: by the end)
      double sum = 0, slowest = 0, last_arrival = 0;
      std::vector<double> exits;
      for (int64_t b = 0; b < blocks; ++b) {
        const double work = m[b][2 * k - 1] - m[b][2 * k - 2];
        sum += work;
        slowest = std::max(slowest, work);
        last_arrival = std::max(last_arrival, m[b][2 * k - 1]);
        if (k <= barriers) exits.push_back(m[b][2 * k]);
      }
      const int64_t ph = (k - 1) % phases;
      work_mean[ph] += sum / blocks / kLayers;
      work_max[ph] += slowest / kLayers;
      if (!exits.empty()) {
        std::sort(exits.begin(), exits.end());
        wait[ph] += (exits[exits.size() / 2] - last_arrival) / (ph == phases - 1 ? kLayers - 1 : kLayers);
      }
    }
    for (int64_t ph = 0; ph < phases; ++ph)
      std::printf(
          "{\"bench\": \"decode_layers_phase\", \"dtype\": \"%s\", \"phase\": \"%s\", "
          "\"work_mean_ns\": %.0f, \"work_slowest_block_ns\": %.0f, \"barrier_after_ns\": %.0f}\n",
          name, names[ph].c_str(), work_mean[ph], work_max[ph], wait[ph]);
  }
}

}  // namespace
#endif

int main(int argc, char** argv) {
  int reps = 20;
  std::string only_shape = "all", only_dtype = "all";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--reps" && i + 1 < argc)
      reps = std::stoi(argv[++i]);
    else if (a == "--shape" && i + 1 < argc)
      only_shape = argv[++i];
    else if (a == "--dtype" && i + 1 < argc)
      only_dtype = argv[++i];
    else {
      std::fprintf(
          stderr,
          "usage: bench_cuda_kernels [--reps N] [--shape lm|tabular|all|decode|decode-layers|BATCHxLxD_INNERxD_STATE] "
          "[--dtype float32|bfloat16|all]\n");
      return 2;
    }
  }
#ifndef FTMAMBA_WITH_CUDA
  (void)reps;
  std::fprintf(stderr, "bench_cuda_kernels: built without the CUDA kernels\n");
  return 2;
#else
  if (!torch::cuda::is_available()) {
    std::fprintf(stderr, "bench_cuda_kernels: no CUDA device visible\n");
    return 2;
  }
  namespace cs = ftmamba::ops::cuda_scan;
  namespace cc = ftmamba::ops::cuda_conv;
  torch::NoGradGuard no_grad;
  const auto cuda = torch::TensorOptions().device(torch::kCUDA);

  // Copy bandwidth: bytes read plus bytes written per second for a 1 GiB device-to-device copy.
  const int64_t copy_elems = int64_t(1) << 28;
  auto src = torch::randn({copy_elems}, cuda), dst = torch::empty({copy_elems}, cuda);
  const double copy_us = time_us([&] { dst.copy_(src); }, reps);
  const double copy_gbs = 2.0 * copy_elems * 4 / (copy_us * 1e-6) / 1e9;
  std::printf("{\"bench\": \"copy\", \"bytes\": %ld, \"us\": %.1f, \"GB_per_s\": %.1f}\n",
              static_cast<long>(2 * copy_elems * 4), copy_us, copy_gbs);
  src = dst = torch::Tensor();

  if (only_shape == "decode-layers") {
    bench_decode_layers(only_dtype, reps, copy_gbs);
    return 0;
  }
  if (only_shape == "decode") {
    struct Matrix {
      const char* name;
      int64_t out, in;
    };
    for (const auto dtype : {torch::kFloat32, torch::kBFloat16}) {
      if (only_dtype != "all" && only_dtype != (dtype == torch::kFloat32 ? "float32" : "bfloat16")) continue;
      for (const Matrix m : {Matrix{"in_proj", 4096, 1024}, Matrix{"x_proj", 96, 2048}, Matrix{"out_proj", 1024, 2048},
                             Matrix{"lm_head", 50280, 1024}}) {
        // Enough copies of the weight (256 MiB in all) that each call reads its own from memory, not from L2.
        const Tensor x = torch::randn({1, m.in}, cuda.dtype(dtype));
        const double bytes = double(m.out) * m.in * x.element_size();
        std::vector<Tensor> ws(static_cast<size_t>(std::max(1.0, 256.0 * (1 << 20) / bytes)));
        for (auto& w : ws) w = torch::randn({m.out, m.in}, cuda.dtype(dtype));
        size_t next = 0;
        const double ours = time_us([&] { ftmamba::ops::linear_rows(x, ws[next++ % ws.size()]); }, reps);
        const double mv = time_us([&] { torch::mv(ws[next++ % ws.size()], x.squeeze(0)); }, reps);
        std::printf(
            "{\"bench\": \"decode_matvec\", \"matrix\": \"%s\", \"out\": %ld, \"in\": %ld, \"dtype\": \"%s\", "
            "\"weight_bytes\": %.0f, \"ftmamba_us\": %.2f, \"ftmamba_of_copy_bandwidth\": %.3f, "
            "\"libtorch_mv_us\": %.2f, \"libtorch_mv_of_copy_bandwidth\": %.3f}\n",
            m.name, static_cast<long>(m.out), static_cast<long>(m.in),
            dtype == torch::kFloat32 ? "float32" : "bfloat16", bytes, ours, bytes / (ours * 1e-6) / 1e9 / copy_gbs, mv,
            bytes / (mv * 1e-6) / 1e9 / copy_gbs);
      }
    }
    return 0;
  }

  struct Shape {
    const char* name;
    int64_t batch, L, dim, N;
  };
  std::vector<Shape> shapes = {Shape{"lm", 8, 2048, 1536, 16}, Shape{"tabular", 2048, 13, 256, 16}};
  long cb = 0, cl = 0, cd = 0, cn = 0;
  if (std::sscanf(only_shape.c_str(), "%ldx%ldx%ldx%ld", &cb, &cl, &cd, &cn) == 4) {
    if (cb < 1 || cl < 1 || cd < 1 || cn < 1) {
      std::fprintf(stderr, "bench_cuda_kernels: --shape %s: every size must be positive\n", only_shape.c_str());
      return 2;
    }
    shapes = {Shape{"custom", cb, cl, cd, cn}};
    only_shape = "custom";
  }
  for (const Shape& s : shapes) {
    if (only_shape != "all" && only_shape != s.name) continue;
    for (const auto dtype : {torch::kFloat32, torch::kBFloat16}) {
      if (only_dtype != "all" && only_dtype != (dtype == torch::kFloat32 ? "float32" : "bfloat16")) continue;
      const auto act = cuda.dtype(dtype), f32 = cuda.dtype(torch::kFloat32);
      const int64_t b = s.batch, L = s.L, d = s.dim, N = s.N;
      torch::manual_seed(0);
      cs::ScanInputs in;
      in.u = torch::randn({b, L, d}, act);
      in.delta = (torch::randn({b, L, d}, f32) * 0.5 - 1.0).to(dtype);
      in.z = torch::randn({b, L, d}, act);
      in.B = torch::randn({b, L, N}, act);
      in.C = torch::randn({b, L, N}, act);
      in.A = -torch::exp(torch::randn({d, N}, f32) * 0.5);
      in.D = torch::randn({d}, f32);
      in.delta_bias = torch::randn({d}, f32) * 0.5;
      const Tensor out = torch::empty({b, L, d}, act), dout = torch::randn({b, L, d}, act);
      const Tensor states = cs::empty_saved_states(in);
      const cs::ScanBackwardBuffers buffers = cs::empty_backward_buffers(in);
      const double esize = dtype == torch::kFloat32 ? 4 : 2;
      const double BLD = double(b) * L * d, BLN = double(b) * L * N;
      // Minimal bytes: every input read once, every output written once (parameters are negligible).
      const double fwd_bytes = (4 * BLD + 2 * BLN) * esize;  // u, delta, z, B, C in; out
      const double bwd_bytes = (7 * BLD + 4 * BLN) * esize;  // u, delta, z, dout, B, C in; du, ddelta, dz, dB, dC
      const double fwd_us = time_us([&] { cs::forward_into(in, out, torch::Tensor()); }, reps);
      const double fwd_train_us = time_us([&] { cs::forward_into(in, out, states); }, reps);
      const double bwd_us = time_us(
          [&] {
            cs::backward_into(in, states, dout, buffers);
            cs::reduce_partials(in, buffers);
          },
          reps);
      const char* dt = dtype == torch::kFloat32 ? "float32" : "bfloat16";
      auto line = [&](const char* op, double us, double bytes) {
        std::printf(
            "{\"bench\": \"selective_scan\", \"shape\": \"%s\", \"batch\": %ld, \"L\": %ld, \"d_inner\": %ld, "
            "\"d_state\": %ld, \"dtype\": \"%s\", \"op\": \"%s\", \"us\": %.1f, \"min_bytes\": %.0f, "
            "\"GB_per_s\": %.1f, \"of_copy_bandwidth\": %.3f}\n",
            s.name, static_cast<long>(b), static_cast<long>(L), static_cast<long>(d), static_cast<long>(N), dt, op, us,
            bytes, bytes / (us * 1e-6) / 1e9, bytes / (us * 1e-6) / 1e9 / copy_gbs);
      };
      line("forward", fwd_us, fwd_bytes);
      line("forward_saving_states", fwd_train_us, fwd_bytes);
      line("backward", bwd_us, bwd_bytes);
      // The forward under each launch layout (kernels::ScanForwardPlan), beside the one the shape chose.
      // (four a lane with scalar_loads: one (step, channel) a load, where the rows allow four channels at once)
      for (const cs::ForwardLayout layout :
           {cs::ForwardLayout{16, 1}, cs::ForwardLayout{16, 0}, cs::ForwardLayout{4, 1}, cs::ForwardLayout{4, 1, true},
            cs::ForwardLayout{4, 2}, cs::ForwardLayout{4, 4}, cs::ForwardLayout{4, 8}, cs::ForwardLayout{4, 16},
            cs::ForwardLayout{2, 1}, cs::ForwardLayout{2, 2}, cs::ForwardLayout{2, 4}}) {
        cs::force_forward_layout(layout);
        const double us = time_us([&] { cs::forward_into(in, out, torch::Tensor()); }, reps);
        std::printf(
            "{\"bench\": \"selective_scan_layout\", \"shape\": \"%s\", \"dtype\": \"%s\", \"op\": \"forward\", "
            "\"states_per_lane\": %d, \"segments\": %ld, \"scalar_loads\": %s, \"us\": %.1f}\n",
            s.name, dtype == torch::kFloat32 ? "float32" : "bfloat16", layout.states_per_lane,
            static_cast<long>(layout.segments), layout.scalar_loads ? "true" : "false", us);
      }
      cs::force_forward_layout({});
      // The backward under each way of forming its group sums (kernels::selective_scan_bwd_sums) and of
      // splitting L into segments (kernels::ScanBackwardSplit; 0: the shape's choice, 1: never).
      for (const cs::BackwardLayout layout :
           {cs::BackwardLayout{1, 1}, cs::BackwardLayout{4, 1}, cs::BackwardLayout{0, 0}, cs::BackwardLayout{0, 2},
            cs::BackwardLayout{0, 4}, cs::BackwardLayout{0, 8}, cs::BackwardLayout{0, 16}}) {
        cs::force_backward_layout(layout);
        const cs::ScanBackwardBuffers layout_buffers = cs::empty_backward_buffers(in);
        const double us = time_us(
            [&] {
              cs::backward_into(in, states, dout, layout_buffers);
              cs::reduce_partials(in, layout_buffers);
            },
            reps);
        std::printf(
            "{\"bench\": \"selective_scan_layout\", \"shape\": \"%s\", \"dtype\": \"%s\", \"op\": \"backward\", "
            "\"sums\": %d, \"segments\": %ld, \"us\": %.1f}\n",
            s.name, dtype == torch::kFloat32 ? "float32" : "bfloat16", layout.sums, static_cast<long>(layout.segments),
            us);
      }
      cs::force_backward_layout({});

      // Causal conv1d (width 4, SiLU) on the same activations.
      cc::ConvInputs ci{in.u, torch::randn({d, 4}, f32), torch::randn({d}, f32), true};
      const cc::ConvBackwardBuffers cb = cc::empty_backward_buffers(ci);
      const double conv_fwd = time_us([&] { cc::forward_into(ci, out); }, reps);
      const double conv_bwd = time_us(
          [&] {
            cc::backward_into(ci, dout, cb);
            cb.dweight_part.sum(0);
            cb.dbias_part.sum(0);
          },
          reps);
      std::printf(
          "{\"bench\": \"causal_conv1d\", \"impl\": \"ftmamba\", \"shape\": \"%s\", \"dtype\": \"%s\", \"forward_us\": "
          "%.1f, "
          "\"backward_us\": %.1f, \"forward_of_copy_bandwidth\": %.3f, \"backward_of_copy_bandwidth\": %.3f}\n",
          s.name, dt, conv_fwd, conv_bwd, 2 * BLD * esize / (conv_fwd * 1e-6) / 1e9 / copy_gbs,
          3 * BLD * esize / (conv_bwd * 1e-6) / 1e9 / copy_gbs);
      // The peer: LibTorch's depthwise conv1d (cuDNN, groups = d_inner) plus SiLU, on the channel-major
      // (batch, d_inner, L) layout it needs: timed on an input already in that layout, and with the two
      // transposes the model's token-major activations would need around it. Backward through autograd.
      {
        const Tensor w = ci.weight.to(in.u.scalar_type()).unsqueeze(1), cb_bias = ci.bias.to(in.u.scalar_type());
        const Tensor x_cm = in.u.transpose(1, 2).contiguous();  // (batch, d_inner, L)
        const auto conv = [&](const Tensor& x, const Tensor& wt, const Tensor& bt) {
          return torch::silu(torch::conv1d(x, wt, bt, 1, 3, 1, d).narrow(2, 0, L));
        };
        const double f_cm = time_us([&] { conv(x_cm, w, cb_bias); }, reps);
        const double f_tm = time_us([&] { conv(in.u.transpose(1, 2), w, cb_bias).transpose(1, 2).contiguous(); }, reps);
        torch::AutoGradMode grad_on(true);
        const Tensor xg = x_cm.detach().requires_grad_(true), wg = w.detach().requires_grad_(true);
        const Tensor bg = cb_bias.detach().requires_grad_(true), g_cm = dout.transpose(1, 2).contiguous();
        const double fb_cm = time_us([&] { torch::autograd::grad({conv(xg, wg, bg)}, {xg, wg, bg}, {g_cm}); }, reps);
        std::printf(
            "{\"bench\": \"causal_conv1d\", \"impl\": \"libtorch-cudnn\", \"shape\": \"%s\", \"dtype\": \"%s\", "
            "\"forward_us\": %.1f, \"forward_with_transposes_us\": %.1f, \"backward_us\": %.1f}\n",
            s.name, dt, f_cm, f_tm, fb_cm - f_cm);
      }
      std::fflush(stdout);
    }
  }
  return 0;
#endif
}
