// defines: `ftmamba recommend`, the top-k items for one user (known by id, or new with given features).
#include <fmt/format.h>

#include "cli_device.h"
#include "commands.h"
#include "ftmamba/core/error.h"
#include "ftmamba/serve/recommender.h"

namespace ftmamba::cli {

void add_recommend_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("recommend", "Recommend items for a user");
  struct Args {
    std::string run, data, user, device = "auto";
    int64_t k = 10;
    bool json = false, include_seen = false;
    std::vector<std::string> features;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--run", args->run, "Run folder")->required();
  cmd->add_option("--user", args->user, "User id")->required();
  cmd->add_option("--k", args->k, "Number of items")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--feature", args->features,
                  "Feature of a user not in the data, as name=value (repeatable); unlisted features are missing");
  cmd->add_option("--data", args->data, "Dataset folder (default: the one the run was trained on)");
  cmd->add_flag("--include-seen", args->include_seen, "Do not remove items the user already interacted with");
  cmd->add_flag("--json", args->json, "Print JSON");
  add_device_option(cmd, args->device);
  cmd->callback([args] {
    serve::FeatureValues features;
    for (const auto& f : args->features) {
      const auto eq = f.find('=');
      if (eq == std::string::npos || eq == 0) throw Error("--feature expects name=value, got '" + f + "'");
      features.emplace_back(f.substr(0, eq), f.substr(eq + 1));
    }
    const auto recommender = serve::Recommender::load(args->run, args->data, choose_device(args->device));
    serve::Recommendations recs;
    if (!features.empty()) {
      recs = recommender.recommend_new_user(features, args->k, args->user);
    } else if (recommender.find_user(args->user)) {
      recs = recommender.recommend(args->user, args->k, args->include_seen);
    } else {
      throw Error("unknown user '" + args->user + "' (not in " + recommender.dataset().users_file.path.string() +
                  "); give a new user's features with --feature name=value");
    }
    if (args->json) {
      fmt::print("{}\n", serve::to_json(recs).dump(2));
      return;
    }
    fmt::print("{:>4}  {:<24} {:>9}\n", "rank", "item", "score");
    for (const auto& it : recs.items) fmt::print("{:>4}  {:<24} {:>9.4f}\n", it.rank, it.item, it.score);
  });
}

}  // namespace ftmamba::cli
