// defines: build_run_index, what `ftmamba index` does: loads a run (every item encoded), builds the item index
// it asks for (or loads the saved one, to re-tune it), measures recall@k against exact search and the latency of one
// query over a sweep of the search parameter (the queries: a sample of the run's users, encoded by the user tower),
// picks the search value (given, the default, or the smallest reaching a target recall) and saves the index in
// RUN/index/.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "ftmamba/core/log.h"
#include "ftmamba/run/run.h"
#include "ftmamba/serve/index_params.h"
#include "ftmamba/serve/index_recall.h"
#include "ftmamba/serve/item_index.h"

namespace ftmamba::serve {

inline constexpr const char* kIndexDir = "index";  // inside the run folder

struct IndexBuildRequest {
  std::filesystem::path run_dir;
  std::filesystem::path data_dir;  // empty: the items the run stores, else the dataset it was trained on
  IndexRequest index;
  int64_t k = 100;                      // recall@k
  int64_t queries = 1000;               // users sampled as queries (all when fewer)
  std::optional<double> target_recall;  // pick the smallest swept search value reaching it
  bool progress = false;                // a progress line on stderr while items are added
  // Measure and re-tune the run's saved index (RUN/index/) instead of building one: `index` is then ignored, and
  // only the chosen search value changes. The index must hold the catalog being indexed.
  bool reuse = false;
};

struct IndexBuildSummary {
  IndexParams params;  // as saved (the chosen search value)
  int64_t items = 0, dim = 0, queries = 0, k = 0;
  bool normalized = false;
  double encode_seconds = 0, build_seconds = 0;
  std::filesystem::path dir;  // RUN/index
  RecallPoint exact;          // the flat (exact) index: the latency of exact search
  std::vector<RecallPoint> sweep;
  bool target_reached = true;  // false: no swept value reached target_recall, the largest was kept
};

// What an index of `run` is checked against on load: the embedding dimension, whether both towers give
// unit-length embeddings, and the weights' SHA-256 (config.json's record, else computed).
IndexIdentity run_index_identity(const run::Run& run, int64_t dim);

// Throws Error naming the parameter (catalog too small, bad value) or the file at fault.
IndexBuildSummary build_run_index(const IndexBuildRequest& request, torch::Device device, const Log& log);

nlohmann::ordered_json to_json(const IndexBuildSummary& summary);

}  // namespace ftmamba::serve
