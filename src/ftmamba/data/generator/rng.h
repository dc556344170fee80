// defines: gen::Rng, the generator's deterministic random numbers: named independent streams and
// distributions written out here, so a seed gives the same bytes with every standard library.
#pragma once
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <string_view>

namespace ftmamba::data::gen {

// Deterministic random numbers. The distributions are written out here rather than taken from
// std::*_distribution (whose output differs between standard libraries), so a seed gives the same
// bytes everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  // An independent stream for one named part of the model: adding a part never reshuffles the others.
  static Rng stream(uint64_t seed, std::string_view name);

  uint64_t bits() { return engine_(); }
  double uniform();  // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  double normal();  // N(0, 1)
  double normal(double mean, double sd) { return mean + sd * normal(); }
  double lognormal(double mu, double sigma);
  double exponential(double mean);
  double gamma(double shape, double scale);
  double gumbel();
  bool bernoulli(double p) { return uniform() < p; }
  int64_t below(int64_t n);                        // uniform in [0, n)
  size_t choice(std::span<const double> weights);  // index with probability proportional to its weight

 private:
  std::mt19937_64 engine_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace ftmamba::data::gen
