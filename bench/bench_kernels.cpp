// defines: bench_kernels, timing the fused CPU selective scan and causal conv1d against their LibTorch references
// (float32, forward and forward+backward) at the tabular and a long shape; prints one JSON line per figure.
// Usage: bench_kernels [--malloc default|resident] [--threads N] [--shape tabular|long|all]
//                      [--impl kernel|reference|all] [--op scan|conv|all]
// The kernels run the CPU path FTMAMBA_CPU_ISA names (avx512, avx2, x86-64-v2), else the best this CPU has;
// each line says which ("cpu_isa").
#include <malloc.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ftmamba/core/cpu_time.h"
#include "ftmamba/kernels/cpu_isa.h"
#include "ftmamba/ops/causal_conv1d.h"
#include "ftmamba/ops/selective_scan.h"

namespace {

using torch::Tensor;

struct Shape {
  const char* name;
  int64_t batch, L, d_inner, d_state, dt_rank, d_conv;
};

struct Timing {
  double median_ms = 0, min_ms = 0, cpu_ms = 0;  // cpu_ms: process CPU time per call (median), all threads
  int reps = 0;
};

// Median and minimum over repetitions after warm-up; stops after max_reps, or once budget_s seconds are spent
// with at least 3 repetitions (1 when a single call takes longer than the budget).
template <typename F>
Timing time_it(F&& f, int max_reps, double budget_s) {
  using clock = std::chrono::steady_clock;
  const auto w0 = clock::now();
  f();
  const bool slow = std::chrono::duration<double>(clock::now() - w0).count() > budget_s;
  if (!slow) f();
  std::vector<double> ms, cpu;
  const auto start = clock::now();
  while (static_cast<int>(ms.size()) < (slow ? 1 : max_reps)) {
    const auto t0 = clock::now();
    const double c0 = ftmamba::process_cpu_ms();
    f();
    cpu.push_back(ftmamba::process_cpu_ms() - c0);
    ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - t0).count());
    if (ms.size() >= 3 && std::chrono::duration<double>(clock::now() - start).count() > budget_s) break;
  }
  std::sort(ms.begin(), ms.end());
  std::sort(cpu.begin(), cpu.end());
  return {ms[ms.size() / 2], ms.front(), cpu[cpu.size() / 2], static_cast<int>(ms.size())};
}

void print(const char* bench, const Shape& s, const char* impl, const char* pass, const Timing& t, double flops,
           double bytes, const char* malloc_mode) {
  std::printf(
      "{\"bench\":\"%s\",\"shape\":\"%s\",\"batch\":%lld,\"L\":%lld,\"d_inner\":%lld,\"d_state\":%lld,"
      "\"impl\":\"%s\",\"pass\":\"%s\",\"dtype\":\"float32\",\"cpu_isa\":\"%s\",\"threads\":%d,\"malloc\":\"%s\","
      "\"median_ms\":%.4f,\"min_ms\":%.4f,\"cpu_ms\":%.4f,\"reps\":%d,\"gflops\":%.2f,\"gbytes_per_s\":%.2f}\n",
      bench, s.name, static_cast<long long>(s.batch), static_cast<long long>(s.L), static_cast<long long>(s.d_inner),
      static_cast<long long>(s.d_state), impl, pass,
      std::string(ftmamba::kernels::cpu_isa_name(ftmamba::kernels::cpu_isa())).c_str(), at::get_num_threads(),
      malloc_mode, t.median_ms, t.min_ms, t.cpu_ms, t.reps, flops / (t.median_ms * 1e6), bytes / (t.median_ms * 1e6));
  std::fflush(stdout);
}

// Inputs laid out as the Mamba block produces them (float32): u and z are halves of in_proj's output,
// B and C slices of x_proj's output, delta is dt_proj's (contiguous) output; A, D and delta_bias as initialised.
struct ScanInputs {
  Tensor xz, x_dbl, delta, A, D, delta_bias;
  Tensor u() const { return xz.slice(2, 0, xz.size(2) / 2); }
  Tensor z() const { return xz.slice(2, xz.size(2) / 2, xz.size(2)); }
  Tensor B(int64_t r, int64_t n) const { return x_dbl.slice(2, r, r + n); }
  Tensor C(int64_t r, int64_t n) const { return x_dbl.slice(2, r + n, r + 2 * n); }
};

ScanInputs make_scan_inputs(const Shape& s) {
  ScanInputs in;
  in.xz = torch::randn({s.batch, s.L, 2 * s.d_inner}).requires_grad_(true);
  in.x_dbl = torch::randn({s.batch, s.L, s.dt_rank + 2 * s.d_state}).requires_grad_(true);
  in.delta = (torch::randn({s.batch, s.L, s.d_inner}) * 0.1).requires_grad_(true);
  in.A = (-torch::arange(1, s.d_state + 1, torch::kFloat32).repeat({s.d_inner, 1})).requires_grad_(true);
  in.D = torch::ones({s.d_inner}).requires_grad_(true);
  // softplus^-1 of dt = exp(U[log 1e-3, log 1e-1]).
  const Tensor dt = torch::exp(torch::rand({s.d_inner}) * (std::log(0.1) - std::log(1e-3)) + std::log(1e-3));
  in.delta_bias = (dt + torch::log(-torch::expm1(-dt))).requires_grad_(true);
  return in;
}

template <typename Scan>
void bench_scan(const Shape& s, const char* impl, Scan&& scan, int max_reps, double budget_s, const char* malloc_mode) {
  const ScanInputs in = make_scan_inputs(s);
  const int64_t r = s.dt_rank, n = s.d_state;
  const auto call = [&] {
    return scan(in.u(), in.delta, in.A, in.B(r, n), in.C(r, n), in.D, in.z(), in.delta_bias, true);
  };
  const Tensor dy = torch::randn({s.batch, s.L, s.d_inner});
  // Per element of (batch, L, d_inner, N): forward ~6 flops + 1 exp; backward ~15 flops, recompute 6 + 1 exp.
  const double elems = static_cast<double>(s.batch * s.L * s.d_inner * s.d_state);
  const double tok = static_cast<double>(s.batch * s.L * s.d_inner) * 4.0;  // one float per (b, t, d)
  const double bc = static_cast<double>(s.batch * s.L * s.d_state) * 4.0;   // one float per (b, t, n)
  const Timing fwd = time_it(
      [&] {
        torch::NoGradGuard no_grad;
        (void)call();
      },
      max_reps, budget_s);
  // Forward reads u, delta, z, B, C and writes y.
  print("selective_scan", s, impl, "fwd", fwd, 6 * elems, 4 * tok + 2 * bc, malloc_mode);
  const std::vector<Tensor> leaves = {in.xz, in.x_dbl, in.delta, in.A, in.D, in.delta_bias};
  const Timing fb = time_it([&] { (void)torch::autograd::grad({call()}, leaves, {dy}); }, max_reps, budget_s);
  // Forward + backward: the forward's bytes, then re-reading them with dy and writing du, ddelta, dz, dB, dC.
  print("selective_scan", s, impl, "fwd+bwd", fb, 27 * elems,
        (4 * tok + 2 * bc) + (4 * tok + 2 * bc) + (4 * tok + 2 * bc), malloc_mode);
}

template <typename Conv>
void bench_conv(const Shape& s, const char* impl, Conv&& conv, int max_reps, double budget_s, const char* malloc_mode) {
  const Tensor xz = torch::randn({s.batch, s.L, 2 * s.d_inner}).requires_grad_(true);
  const Tensor w = (torch::randn({s.d_inner, s.d_conv}) * 0.5).requires_grad_(true);
  const Tensor b = torch::randn({s.d_inner}).requires_grad_(true);
  const auto call = [&] { return conv(xz.slice(2, 0, s.d_inner), w, b, true); };
  const Tensor dy = torch::randn({s.batch, s.L, s.d_inner});
  const double tok = static_cast<double>(s.batch * s.L * s.d_inner);
  const Timing fwd = time_it(
      [&] {
        torch::NoGradGuard no_grad;
        (void)call();
      },
      max_reps, budget_s);
  print("causal_conv1d", s, impl, "fwd", fwd, tok * (2.0 * s.d_conv + 4), tok * 8.0, malloc_mode);
  const Timing fb = time_it([&] { (void)torch::autograd::grad({call()}, {xz, w, b}, {dy}); }, max_reps, budget_s);
  print("causal_conv1d", s, impl, "fwd+bwd", fb, tok * (6.0 * s.d_conv + 12), tok * 20.0, malloc_mode);
}

}  // namespace

int main(int argc, char** argv) {
  std::string malloc_mode = "resident", shape = "all", impl = "all", op = "all";
  int threads = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--malloc"))
      malloc_mode = argv[i + 1];
    else if (!std::strcmp(argv[i], "--threads"))
      threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--shape"))
      shape = argv[i + 1];
    else if (!std::strcmp(argv[i], "--impl"))
      impl = argv[i + 1];
    else if (!std::strcmp(argv[i], "--op"))
      op = argv[i + 1];
  }
  if (malloc_mode == "resident") {
    // Keep freed memory in the process (fresh pages cost ~10 us each on the dev machines; see DESIGN.md).
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
  }
  if (threads > 0) at::set_num_threads(threads);
  torch::manual_seed(0);
  const std::vector<Shape> shapes = {{"tabular", 512, 13, 128, 16, 4, 4}, {"long", 2, 2048, 256, 16, 8, 4}};
  for (const Shape& s : shapes) {
    if (shape != "all" && shape != s.name) continue;
    const bool tab = std::string(s.name) == "tabular";
    const bool kern = impl != "reference", ref = impl != "kernel";
    const bool scan = op != "conv", conv = op != "scan";
    if (scan && kern) bench_scan(s, "kernel", ftmamba::ops::selective_scan, 50, 2.0, malloc_mode.c_str());
    if (scan && ref)
      bench_scan(s, "reference", ftmamba::ops::selective_scan_ref, tab ? 10 : 5, 3.0, malloc_mode.c_str());
    if (conv && kern) bench_conv(s, "kernel", ftmamba::ops::causal_conv1d, 50, 1.0, malloc_mode.c_str());
    if (conv && ref) bench_conv(s, "reference", ftmamba::ops::causal_conv1d_ref, 20, 1.0, malloc_mode.c_str());
  }
  return 0;
}
