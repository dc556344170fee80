// defines: the figures of the comparison report as gnuplot jobs: validation HR@k per epoch (the paper's
// Figure 4) and predicted minus actual test interactions by item popularity (its Figure 5).
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>

#include "ftmamba/experiments/comparison_input.h"
#include "ftmamba/report/figure.h"

namespace ftmamba::experiments {

// figures/hr_per_epoch: one panel per k that some run's history reports, one line per run (colour = model,
// dash and marker = seed), one legend below the panels. Nothing when no run has a history.
std::optional<report::FigureJob> hr_per_epoch_figure(const ComparisonInput& c);

// figures/popularity_bias: per popularity bin (popularity_bins.h), the sum over its items of predicted −
// actual, one line per run. Nothing when no run has popularity_bias; an Error when runs disagree on the items.
struct PopularityFigure {
  report::FigureJob job;
  int64_t k = 0;        // the top-k of "predicted"
  int64_t n_items = 0;  // items ranked
  size_t n_bins = 0;
};
std::optional<PopularityFigure> popularity_bias_figure(const ComparisonInput& c);

}  // namespace ftmamba::experiments
