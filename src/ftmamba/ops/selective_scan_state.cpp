// defines: selective_scan_last_state (see selective_scan_state.h).
#include "ftmamba/ops/selective_scan_state.h"

#include <algorithm>

namespace ftmamba::ops {

torch::Tensor selective_scan_last_state(const torch::Tensor& u, const torch::Tensor& delta, const torch::Tensor& A,
                                        const torch::Tensor& B, const torch::Tensor& delta_bias, bool delta_softplus) {
  const auto dtype = u.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
  const int64_t batch = u.size(0), L = u.size(1), d = u.size(2), n = A.size(1);
  auto dt = delta.to(dtype);
  if (delta_bias.defined()) dt = dt + delta_bias.to(dtype);
  if (delta_softplus) dt = torch::softplus(dt);  // (batch, L, d)
  // S_t, the time steps after t, summed from the end: exact where it matters (t near L, where exp(A S) is
  // not negligible), as a difference of prefix sums would not be.
  const auto after = dt.flip(1).cumsum(1).flip(1) - dt;  // (batch, L, d)
  const auto dtu = dt * u.to(dtype);                     // (batch, L, d)
  const auto a = A.to(dtype);                            // (d, n)
  const auto b = B.to(dtype);                            // (batch, L, n)
  auto h = torch::zeros({batch, d, n}, u.options().dtype(dtype));
  // Chunks of tokens of about 16M (batch, t, d, n) products each.
  const int64_t chunk = std::max<int64_t>(1, (int64_t{1} << 24) / std::max<int64_t>(1, batch * d * n));
  for (int64_t t0 = 0; t0 < L; t0 += chunk) {
    const int64_t c = std::min(chunk, L - t0);
    const auto decay = torch::exp(after.narrow(1, t0, c).unsqueeze(-1) * a);                  // (batch, c, d, n)
    const auto input = dtu.narrow(1, t0, c).unsqueeze(-1) * b.narrow(1, t0, c).unsqueeze(2);  // (batch, c, d, n)
    h += (decay * input).sum(1);
  }
  return h;
}

}  // namespace ftmamba::ops
