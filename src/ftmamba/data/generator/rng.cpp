// defines: Rng's streams (SplitMix64 of the seed and an FNV-1a hash of the name) and its distributions.
#include "ftmamba/data/generator/rng.h"

#include <algorithm>
#include <cmath>

namespace ftmamba::data::gen {

namespace {
uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
uint64_t fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}
}  // namespace

Rng Rng::stream(uint64_t seed, std::string_view name) { return Rng(splitmix64(seed ^ splitmix64(fnv1a(name)))); }

double Rng::uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

double Rng::normal() {
  // Marsaglia's polar method; the second value of each pair is kept for the next call.
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u, v, s;
  do {
    u = 2.0 * uniform() - 1.0;
    v = 2.0 * uniform() - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  const double f = std::sqrt(-2.0 * std::log(s) / s);
  spare_ = v * f;
  has_spare_ = true;
  return u * f;
}

double Rng::lognormal(double mu, double sigma) { return std::exp(mu + sigma * normal()); }

double Rng::exponential(double mean) { return -mean * std::log1p(-uniform()); }

double Rng::gamma(double shape, double scale) {
  // Marsaglia & Tsang; shape < 1 via the u^(1/shape) boost.
  if (shape < 1.0) return gamma(shape + 1.0, scale) * std::pow(1.0 - uniform(), 1.0 / shape);
  const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x, v;
    do {
      x = normal();
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = 1.0 - uniform();
    if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v * scale;
  }
}

double Rng::gumbel() {
  const double u = (static_cast<double>(engine_() >> 11) + 0.5) * 0x1.0p-53;  // (0, 1)
  return -std::log(-std::log(u));
}

int64_t Rng::below(int64_t n) {
  const auto k = static_cast<int64_t>(uniform() * static_cast<double>(n));
  return std::min(k, n - 1);
}

size_t Rng::choice(std::span<const double> weights) {
  double total = 0.0;
  for (double w : weights) total += w;
  double r = uniform() * total;
  size_t last = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (weights[i] <= 0.0) continue;
    last = i;
    if (r < weights[i]) return i;
    r -= weights[i];
  }
  return last;  // rounding at the very end of the range
}

}  // namespace ftmamba::data::gen
