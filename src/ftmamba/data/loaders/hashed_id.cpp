// defines: hash_id.
#include "ftmamba/data/loaders/hashed_id.h"

#include <cstring>

namespace ftmamba::data {

HashedId hash_id(std::string_view s) {
  constexpr uint64_t m = 0xc6a4a7935bd1e995ULL;
  uint64_t h1 = 0x9e3779b97f4a7c15ULL ^ (s.size() * m), h2 = 0x243f6a8885a308d3ULL ^ s.size();
  const auto word = [&](uint64_t k) {
    uint64_t a = k * m;
    a ^= a >> 47;
    h1 = (h1 ^ (a * m)) * m;
    h2 = (h2 ^ (k * 0x9fb21c651e98df25ULL));
    h2 = ((h2 << 29) | (h2 >> 35)) * 0xc2b2ae3d27d4eb4fULL;
  };
  const char* p = s.data();
  size_t n = s.size();
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t k;
    std::memcpy(&k, p, 8);
    word(k);
  }
  if (n > 0) {
    uint64_t k = 0;
    std::memcpy(&k, p, n);
    word(k);
  }
  h1 ^= h1 >> 47;
  h1 *= m;
  h1 ^= h1 >> 47;
  h2 = (h2 ^ (h2 >> 30)) * 0xbf58476d1ce4e5b9ULL;
  h2 = (h2 ^ (h2 >> 27)) * 0x94d049bb133111ebULL;
  h2 ^= h2 >> 31;
  if (h1 == 0 && h2 == 0) h2 = 1;  // {0, 0} marks an empty map slot
  return {h1, h2};
}

}  // namespace ftmamba::data
