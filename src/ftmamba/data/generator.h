// defines: the synthetic-dataset engine's entry: GenerateOptions, and gen::generate, which samples
// interactions from a preset's latent preference model (gen::Spec, generator/spec.h) into a gen::Result with
// its oracle and sanity checks; generator/dataset_writer.h writes the folder.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "ftmamba/data/generator/drift.h"
#include "ftmamba/data/generator/spec.h"

namespace ftmamba::data {

struct GenerateOptions {
  GenerateOptions(int64_t pairs_ = 160000, uint64_t seed_ = 1) : pairs(pairs_), seed(seed_) {}
  int64_t pairs;  // interactions written, exactly
  uint64_t seed;
  std::optional<Drift> drift;
};

namespace gen {

// Sanity figures of a generated dataset: leave-last-out HR@10 (full catalog, the user's other items
// masked) of the oracle and of a popularity ranking, and the share of interactions on the top 1% items.
struct Checks {
  double oracle_hr10 = 0.0;
  double popularity_hr10 = 0.0;
  double top1pct_share = 0.0;
};

// A generated dataset in memory.
struct Result {
  std::vector<std::vector<uint8_t>> user_missing, item_missing;  // [column][row]: 1 = written blank
  std::vector<int64_t> user, item, timestamp;                    // interactions, sorted by time
  std::vector<std::vector<double>> extra;                        // [InteractionFormat::extra][interaction]
  int64_t dim = 0;
  std::vector<float> user_factors;  // (n_users, dim) oracle, users row order
  std::vector<float> item_factors;  // (n_items, dim) oracle, items row order
  std::vector<float> item_bias;     // (n_items)
  // The true, noise-free utility (hidden taste and hidden popularity included): the ceiling no ranker
  // beats in expectation. A model can exceed the feature oracle above, because users and items are
  // identifiable from their feature values and their histories reveal the hidden parts.
  std::vector<float> true_user_factors, true_item_factors, true_item_bias;
  Checks checks;
  int64_t drifted_users = 0;  // users in the drift segment (0 without --drift)
};

// Validates the spec (throws Error) and samples exactly `pairs` interactions. Deterministic in seed.
Result generate(const Spec& spec, const GenerateOptions& options);

}  // namespace gen
}  // namespace ftmamba::data
