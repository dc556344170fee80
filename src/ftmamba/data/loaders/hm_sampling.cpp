// defines: hm_sampling_method, uniform_below and take_pairs.
#include "ftmamba/data/loaders/hm_sampling.h"

#include <algorithm>

#include "ftmamba/core/error.h"

namespace ftmamba::data {

std::string hm_sampling_method(int64_t min_per_user) {
  const std::string m = std::to_string(min_per_user);
  return "Customers with at least " + m +
         " transactions are put in a random order (mt19937_64 seeded with --seed, Fisher-Yates). In that "
         "order, each customer's repeated purchases of an article collapse to the first (earliest t_dat, then "
         "file order); customers left with fewer than " +
         m +
         " distinct articles are skipped; whole customers are kept until their pairs reach --pairs. The last "
         "customer keeps only their earliest pairs; if fewer than " +
         m + " would remain, they keep " + m +
         " and the customers before them, latest first, give up their latest pairs (none going below " + m +
         "). Users are the kept customers, items the articles of the kept pairs.";
}

uint64_t uniform_below(std::mt19937_64& rng, uint64_t n) {
  const uint64_t threshold = (0 - n) % n;
  for (;;) {
    const uint64_t r = rng();
    if (r >= threshold) return r % n;
  }
}

PairTake take_pairs(const std::vector<int64_t>& distinct, int64_t pairs, int64_t min_per_user) {
  PairTake t;
  t.kept.assign(distinct.size(), 0);
  int64_t total = 0;
  for (size_t i = 0; i < distinct.size() && total < pairs; ++i) {
    const int64_t d = distinct[i];
    if (d < min_per_user) continue;
    const int64_t room = pairs - total;
    if (d <= room || room >= min_per_user) {
      t.kept[i] = std::min(d, room);
      total += t.kept[i];
      continue;
    }
    // 0 < room < min_per_user: this customer takes min_per_user, earlier ones give up the excess.
    int64_t excess = min_per_user - room, spare = 0;
    for (size_t j = 0; j < i; ++j)
      if (t.kept[j] > 0) spare += t.kept[j] - min_per_user;
    if (spare < excess) {
      throw Error("cannot make exactly " + std::to_string(pairs) + " pairs with at least " +
                  std::to_string(min_per_user) + " per customer from these customers; try another --pairs");
    }
    for (size_t j = i; j-- > 0 && excess > 0;) {
      if (t.kept[j] == 0) continue;
      const int64_t give = std::min(excess, t.kept[j] - min_per_user);
      t.kept[j] -= give;
      excess -= give;
    }
    t.kept[i] = min_per_user;
    total = pairs;
  }
  t.complete = total == pairs;
  return t;
}

}  // namespace ftmamba::data
