// defines: Split (train / validation / test interaction indices) and split_interactions.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ftmamba/core/enum_text.h"
#include "ftmamba/data/dataset.h"

namespace ftmamba::data {

enum class SplitMode { Time, Random };

}  // namespace ftmamba::data

template <>
struct ftmamba::EnumText<ftmamba::data::SplitMode> {
  static constexpr std::string_view what = "split mode";
  static constexpr std::array<std::pair<data::SplitMode, std::string_view>, 2> names{{
      {data::SplitMode::Time, "time"},
      {data::SplitMode::Random, "random"},
  }};
};

namespace ftmamba::data {

struct Split {
  std::vector<int64_t> train, valid, test;  // indices into Interactions, each sorted ascending
};

// Per user: Time mode sorts the user's interactions by timestamp (ties: file order) and holds out the
// last as test and the one before as validation. Random mode holds out one random interaction as test
// and another as validation. A user with 1 interaction keeps it in train; with 2, the later one is test.
// Deterministic for a given seed.
Split split_interactions(const Interactions& inter, int64_t n_users, SplitMode mode, uint64_t seed);

}  // namespace ftmamba::data
