// defines: load_serving_state and model_version.
#include "ftmamba/serve/serving_state.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "ftmamba/core/error.h"
#include "ftmamba/io/sha256.h"
#include "ftmamba/run/weight_hashes.h"

namespace ftmamba::serve {
namespace fs = std::filesystem;

std::string model_version(const fs::path& run_dir) {
  nlohmann::json recorded;
  std::ifstream in(run_dir / "config.json");
  const auto config = nlohmann::json::parse(in, nullptr, false);
  if (config.is_object() && config.contains("sha256") && config["sha256"].is_object()) recorded = config["sha256"];
  std::string hashes;
  for (const auto& file : run::hashed_weight_files()) {
    if (recorded.contains(file) && recorded[file].is_string()) {
      hashes += recorded[file].get<std::string>() + "\n";
    } else if (fs::exists(run_dir / file)) {
      hashes += io::sha256_file(run_dir / file) + "\n";
    }
  }
  if (hashes.empty()) throw Error(run_dir.string() + ": no weights file to version the model by");
  if (hashes.find('\n') == hashes.size() - 1) return hashes.substr(0, 16);
  std::string combined;
  for (size_t i = 0; i + 1 < hashes.size(); i += 65) combined += hashes.substr(i, 8);
  return combined.substr(0, 16);
}

std::shared_ptr<const ServingState> load_serving_state(const ServingSource& source) {
  auto state = std::make_shared<ServingState>();
  state->recommender = std::make_shared<Recommender>(
      Recommender::load(source.run_dir, source.data_dir, source.device, UserEmbeddings::kPrecomputed));
  state->recommender->set_new_user_batch(source.new_user_batch);
  if (source.make_search) {
    if (auto search = source.make_search(*state->recommender)) state->recommender->set_item_search(std::move(search));
  }
  state->model_version = model_version(source.run_dir);
  const auto& users = state->recommender->data().user_schema;
  state->user_features = {users.numerical, users.categorical, users.multi_valued, users.separator};
  const auto& items = state->recommender->item_schema();
  state->item_features = {items.numerical, items.categorical, items.multi_valued, items.separator};
  return state;
}

}  // namespace ftmamba::serve
