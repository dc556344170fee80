// defines: split_interactions (per-user leave-last-out by time, or random
// hold-out with a seeded std::mt19937_64).
#include "ftmamba/data/split.h"

#include <algorithm>
#include <random>

#include "ftmamba/core/error.h"

namespace ftmamba::data {
namespace {

// Uniform integer in [0, n) by rejection. std::uniform_int_distribution differs between standard
// libraries, and a split must not change with the compiler.
int64_t uniform_below(std::mt19937_64& rng, uint64_t n) {
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;  // largest multiple of n, exclusive
  uint64_t x = rng();
  while (x >= limit) x = rng();
  return static_cast<int64_t>(x % n);
}

}  // namespace

Split split_interactions(const Interactions& inter, int64_t n_users, SplitMode mode, uint64_t seed) {
  if (n_users < 0) throw Error("split: n_users must be >= 0");
  if (static_cast<int64_t>(inter.timestamp.size()) != inter.size()) {
    throw Error("split: interactions have " + std::to_string(inter.size()) + " users but " +
                std::to_string(inter.timestamp.size()) + " timestamps");
  }
  std::vector<std::vector<int64_t>> by_user(static_cast<size_t>(n_users));
  for (int64_t k = 0; k < inter.size(); ++k) {
    const int64_t u = inter.user[k];
    if (u < 0 || u >= n_users) {
      throw Error("split: interaction " + std::to_string(k) + " has user row " + std::to_string(u) + ", outside [0, " +
                  std::to_string(n_users) + ")");
    }
    by_user[u].push_back(k);  // ascending, i.e. file order
  }

  Split s;
  std::mt19937_64 rng(seed);
  for (auto& list : by_user) {
    // Time order; stable so that equal timestamps keep file order.
    std::stable_sort(list.begin(), list.end(),
                     [&](int64_t a, int64_t b) { return inter.timestamp[a] < inter.timestamp[b]; });
    const size_t n = list.size();
    if (n <= 1) {
      s.train.insert(s.train.end(), list.begin(), list.end());
      continue;
    }
    if (n == 2) {  // too few to validate on: the later one is the test case
      s.train.push_back(list[0]);
      s.test.push_back(list[1]);
      continue;
    }
    size_t test = n - 1, valid = n - 2;
    if (mode == SplitMode::Random) {
      test = static_cast<size_t>(uniform_below(rng, n));
      valid = static_cast<size_t>(uniform_below(rng, n - 1));
      if (valid >= test) ++valid;  // any position but test's
    }
    for (size_t k = 0; k < n; ++k) {
      if (k == test)
        s.test.push_back(list[k]);
      else if (k == valid)
        s.valid.push_back(list[k]);
      else
        s.train.push_back(list[k]);
    }
  }
  std::sort(s.train.begin(), s.train.end());
  std::sort(s.valid.begin(), s.valid.end());
  std::sort(s.test.begin(), s.test.end());
  return s;
}

}  // namespace ftmamba::data
