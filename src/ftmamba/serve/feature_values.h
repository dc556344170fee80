// defines: FeatureValues, a user's or item's features as (name, value) text pairs, as a request gives them.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace ftmamba::serve {

// A feature not listed is missing.
using FeatureValues = std::vector<std::pair<std::string, std::string>>;

}  // namespace ftmamba::serve
