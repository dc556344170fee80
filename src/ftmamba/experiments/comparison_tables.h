// defines: the tables of the comparison report: quality (mean ± std over seeds per model, best in bold,
// reference rankers below), efficiency (with the first / second model ratio) and the runs.
#pragma once
#include <string>
#include <vector>

#include "ftmamba/experiments/comparison_input.h"
#include "ftmamba/report/document.h"

namespace ftmamba::experiments {

// A test metric as the report prints it: 4 decimals.
std::string metric_text(double v);

// Model rows (mean ± sample std over seeds, best model mean per column bold) and reference rows for one protocol
// ("full", "sampled") and the given metric keys ("HR@10", ...).
report::Table quality_table(const ComparisonInput& c, const std::string& protocol,
                            const std::vector<std::string>& keys);

// Per model the mean over seeds of each efficiency figure, and, with two models or more, the ratio first / second.
report::Table efficiency_table(const ComparisonInput& c);

// One row per run: seed, epochs, best epoch, test HR@10, and a link to its folder.
report::Table runs_table(const ComparisonInput& c);

}  // namespace ftmamba::experiments
