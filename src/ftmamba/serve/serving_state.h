// defines: ServingState, what one loaded run serves (the Recommender with its live catalog, the model version, the
// feature columns requests may name), and load_serving_state, which builds a new one: the server swaps a whole
// state at once on reload, so that a request in flight finishes on the state it started with.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "ftmamba/serve/item_search.h"
#include "ftmamba/serve/recommender.h"
#include "ftmamba/serve/request_json.h"

namespace ftmamba::serve {

// Builds the ItemSearch of a freshly loaded Recommender (an ANN index over its item_embeddings(), say); null: the
// Recommender's exact search.
using ItemSearchFactory = std::function<std::shared_ptr<ItemSearch>(const Recommender&)>;

struct ServingSource {
  std::filesystem::path run_dir, data_dir;  // data_dir empty: what the run stores (Recommender::load)
  torch::Device device = torch::kCPU;
  ItemSearchFactory make_search;
  int64_t new_user_batch = Recommender::kNewUserBatch;  // Recommender::set_new_user_batch
};

struct ServingState {
  std::shared_ptr<Recommender> recommender;  // known users' embeddings precomputed
  std::string model_version;                 // the weights' SHA-256, its first 16 hex digits
  FeatureColumns user_features, item_features;
};

// Loads the run (Recommender::load; Error as it throws them) into a new state.
std::shared_ptr<const ServingState> load_serving_state(const ServingSource& source);

// The first 16 hex digits of the SHA-256 of the run's weights file, as config.json records it (a fine-tuned run's
// two files: the first 8 of each); for a run without the record, of the file's bytes.
std::string model_version(const std::filesystem::path& run_dir);

}  // namespace ftmamba::serve
