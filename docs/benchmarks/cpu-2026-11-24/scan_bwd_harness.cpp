// Backward-only timing harness for the CPU selective scan (one thread, buffers reused, median of reps).
// Build against a copy of selective_scan_cpu.cpp to compare two versions side by side:
//   g++ -O3 -march=native -fopenmp -std=gnu++20 -Isrc scan_bwd_harness.cpp src/ftmamba/kernels/selective_scan_cpu.cpp
//   -o bwd_new
// Usage: bwd_new [batch] [d_inner] [L] [reps]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "ftmamba/kernels/selective_scan_cpu.h"
using namespace ftmamba::kernels;
int main(int argc, char** argv) {
  int64_t Bt = argc > 1 ? atol(argv[1]) : 64, L = argc > 3 ? atol(argv[3]) : 13, D = argc > 2 ? atol(argv[2]) : 128,
          N = 16;
  int reps = argc > 4 ? atoi(argv[4]) : 200;
  std::mt19937 g(1);
  std::normal_distribution<float> nd;
  auto mk = [&](size_t n, float s, float o) {
    std::vector<float> v(n);
    for (auto& x : v) x = nd(g) * s + o;
    return v;
  };
  auto u = mk(Bt * L * D, 1, 0), de = mk(Bt * L * D, 1, -1), z = mk(Bt * L * D, 1, 0), A = mk(D * N, 0, 0),
       Bv = mk(Bt * L * N, 1, 0), Cv = mk(Bt * L * N, 1, 0), Dv = mk(D, 1, 0), bias = mk(D, 0.1, 0);
  for (int64_t d = 0; d < D; ++d)
    for (int64_t n = 0; n < N; ++n) A[d * N + n] = -(n + 1.0f);
  std::vector<float> out(Bt * L * D), dout = mk(Bt * L * D, 1, 0), du(Bt * L * D), dd(Bt * L * D), dz(Bt * L * D),
                                      dA(D * N), dB(Bt * L * N), dC(Bt * L * N), dD(D), db(D);
  SelectiveScanParams<float> p;
  p.batch = Bt;
  p.seqlen = L;
  p.dim = D;
  p.dstate = N;
  p.u = u.data();
  p.u_batch_stride = L * D;
  p.u_l_stride = D;
  p.delta = de.data();
  p.delta_batch_stride = L * D;
  p.delta_l_stride = D;
  p.A = A.data();
  p.B = Bv.data();
  p.B_batch_stride = L * N;
  p.B_l_stride = N;
  p.C = Cv.data();
  p.C_batch_stride = L * N;
  p.C_l_stride = N;
  p.D = Dv.data();
  p.z = z.data();
  p.z_batch_stride = L * D;
  p.z_l_stride = D;
  p.delta_bias = bias.data();
  p.out = out.data();
  SelectiveScanGrads<float> gr{dout.data(), du.data(), dd.data(), dA.data(), dB.data(),
                               dC.data(),   dD.data(), dz.data(), db.data()};
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    auto a = std::chrono::steady_clock::now();
    selective_scan_bwd_cpu(p, gr);
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
  }
  std::sort(t.begin(), t.end());
  double cs = 0;
  for (auto x : dB) cs += x;
  for (auto x : du) cs += x;
  for (auto x : dA) cs += x;
  for (auto x : dd) cs += x;
  for (auto x : dz) cs += x;
  for (auto x : dC) cs += x;
  std::printf("bwd %.4f ms  per 512 rows %.3f ms  checksum %.8g\n", t[t.size() / 2], t[t.size() / 2] * 512.0 / Bt, cs);
}
