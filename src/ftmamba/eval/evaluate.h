// defines: evaluate_test, the test-set evaluation of a trained two-tower model beside the oracle (when the
// dataset has one) and a popularity baseline, in the full-catalog and the sampled protocol; and
// format_metrics_table, the human-readable table of that result.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "ftmamba/nn/two_tower.h"
#include "ftmamba/run/run.h"

namespace ftmamba::eval {

// sampled_negatives: (n_test_users, n_neg) int64 aligned with the test task's users, as drawn by
// load_or_draw_negatives. The JSON is
// {"test_users", "catalog_items", "full": {"model": {...}, "oracle": {...}, "popularity": {...}},
//  "sampled": {"negatives", "model", "oracle", "popularity"}}.
// A user or item whose embedding is not finite (damaged weights) is an Error naming it, never NaN scores.
nlohmann::ordered_json evaluate_test(nn::TwoTower& model, const run::PreparedData& data, int64_t batch_size,
                                     const torch::Tensor& sampled_negatives);

// Reads <run>/sampled_negatives.safetensors when present and consistent with the test task, otherwise
// draws them (seeded) and, when `save` is true, writes them there so every later eval reuses them.
torch::Tensor load_or_draw_negatives(const std::filesystem::path& run_dir, const run::PreparedData& data,
                                     int64_t n_negatives, uint64_t seed, bool save);

std::string format_metrics_table(const nlohmann::ordered_json& evaluation);

}  // namespace ftmamba::eval
