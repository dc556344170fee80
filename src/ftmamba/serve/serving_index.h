// defines: ServingIndex (which item search `ftmamba serve` answers with: the run's saved index when it has one, exact
// scoring, or the index required) and serving_index_search, the ItemSearchFactory that loads it into each state the
// server loads, on start and on every reload.
#pragma once
#include <array>
#include <filesystem>
#include <string_view>
#include <utility>

#include "ftmamba/core/enum_text.h"
#include "ftmamba/serve/serving_state.h"

namespace ftmamba::serve {

enum class ServingIndex {
  kAuto,   // RUN/index (ftmamba index) when it exists, else exact scoring
  kExact,  // every live item scored
  kIndex,  // RUN/index, an error when it is missing
};

}  // namespace ftmamba::serve

template <>
struct ftmamba::EnumText<ftmamba::serve::ServingIndex> {
  static constexpr std::string_view what = "index";
  static constexpr std::array<std::pair<serve::ServingIndex, std::string_view>, 3> names{{
      {serve::ServingIndex::kAuto, "auto"},
      {serve::ServingIndex::kExact, "exact"},
      {serve::ServingIndex::kIndex, "index"},
  }};
};

namespace ftmamba::serve {

// The factory of ServingSource::make_search for `which`. The index is read fresh from RUN/index at each load (a
// reload picks up a rebuilt index) and checked against the loaded run: its checksums, the run's weights, the
// embedding size, and that it was built over as many items as the catalog being served (an index of another
// --data is refused, naming the command that rebuilds it). Errors are Error, as the load's.
ItemSearchFactory serving_index_search(const std::filesystem::path& run_dir, ServingIndex which);

}  // namespace ftmamba::serve
