// defines: evaluate_run, what `ftmamba eval` does: re-evaluate a run folder on its dataset's test split, with
// the negatives stored in the run, in a chosen precision.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "ftmamba/ops/precision.h"

namespace ftmamba::eval {

// data_dir: the dataset to evaluate on (same schema); empty: the one the run was trained on. The towers and the
// scoring run in `precision` (autocast, or bf16 weights for bf16-pure). Returns evaluate_test's JSON (see
// evaluate.h); format_metrics_table prints it. Throws Error naming the file when the run or data is bad.
nlohmann::ordered_json evaluate_run(const std::filesystem::path& run_dir, const std::filesystem::path& data_dir,
                                    ops::Precision precision, torch::Device device);

}  // namespace ftmamba::eval
