// defines: the rule by which `import hm` picks customers and pairs: the customers' random order
// (shuffle_customers), the cut to exactly N pairs (take_pairs) and the rule in words (hm_sampling_method).
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace ftmamba::data {

// How customers and pairs are chosen, in words: for --help and dataset.json.
std::string hm_sampling_method(int64_t min_per_user);

// Uniform in [0, n) from a 64-bit generator, without modulo bias; the same on every platform.
uint64_t uniform_below(std::mt19937_64& rng, uint64_t n);

// Fisher-Yates with mt19937_64(seed) and uniform_below: the same order for a seed on every platform
// (std::shuffle's draws are the library's choice).
template <class T>
void shuffle_customers(std::vector<T>& v, uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (size_t k = v.size(); k > 1; --k) std::swap(v[k - 1], v[uniform_below(rng, k)]);
}

// The cut to exactly `pairs`. distinct[i] is the number of distinct articles of the i-th customer in
// the sampled order. Customers with fewer than min_per_user are skipped (kept 0); whole customers are
// kept while they fit; the next one keeps the remainder r if r >= min_per_user, otherwise it keeps
// min_per_user and the customers before it, latest first, give up pairs down to min_per_user each.
// complete is false when the customers listed do not reach `pairs` (the caller samples more). Throws
// Error when the remainder cannot be placed (every earlier customer already at min_per_user).
struct PairTake {
  std::vector<int64_t> kept;  // (distinct.size()) pairs kept of each customer, their earliest ones
  bool complete = false;
};
PairTake take_pairs(const std::vector<int64_t>& distinct, int64_t pairs, int64_t min_per_user);

}  // namespace ftmamba::data
