// defines: comparison_popularity_warnings, the models of a comparison whose mean over seeds ranks below the
// popularity reference on the headline metrics (eval/popularity_check.h): `compare` prints them and the report
// states them under its quality table.
#pragma once
#include <string>
#include <vector>

#include "ftmamba/experiments/comparison_input.h"

namespace ftmamba::experiments {

// One warning per such model, in model order; none without a popularity reference.
std::vector<std::string> comparison_popularity_warnings(const ComparisonInput& comparison);

}  // namespace ftmamba::experiments
