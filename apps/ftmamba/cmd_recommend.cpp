// defines: `ftmamba recommend`, the top-k items for one user (known by id, or new with given features).
#include <fmt/format.h>

#include <unordered_set>

#include "cli_device.h"
#include "commands.h"
#include "ftmamba/core/error.h"
#include "ftmamba/core/threads.h"
#include "ftmamba/data/preprocess.h"
#include "ftmamba/run/run.h"

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
    auto run = run::Run::load(args->run, choose_device(args->device));
    set_cpu_threads(static_cast<int>(run.config.train.threads));
    auto dataset = data::Dataset::load(args->data.empty() ? run.data_dir : std::filesystem::path(args->data));
    data::EncodedFeatures user;
    std::unordered_set<int64_t> seen;
    bool cold_start = false;
    if (auto it = dataset.users.index.find(args->user); it != dataset.users.index.end() && args->features.empty()) {
      user = run.user_encoding.transform(dataset.users).index_select(torch::tensor({it->second}));
      if (!args->include_seen)
        for (int64_t r = 0; r < dataset.interactions.size(); ++r)
          if (dataset.interactions.user[r] == it->second) seen.insert(dataset.interactions.item[r]);
    } else if (!args->features.empty()) {
      std::vector<std::pair<std::string, std::string>> pairs;
      for (const auto& f : args->features) {
        const auto eq = f.find('=');
        if (eq == std::string::npos || eq == 0) throw Error("--feature expects name=value, got '" + f + "'");
        pairs.emplace_back(f.substr(0, eq), f.substr(eq + 1));
      }
      user = run.user_encoding.transform(data::feature_table_from_pairs(args->user, dataset.schema.users, pairs));
      cold_start = true;
    } else {
      throw Error("unknown user '" + args->user + "' (not in " + (dataset.dir / "users.csv").string() +
                  "); give a new user's features with --feature name=value");
    }
    auto items = run.item_encoding.transform(dataset.items);
    auto item_emb = nn::encode_all(*run.model->item_tower, items, run.config.eval.batch_size);    // (I, E)
    auto user_emb = nn::encode_all(*run.model->user_tower, user, 1);                              // (1, E)
    auto scores = torch::matmul(user_emb, item_emb.t()).squeeze(0).to(torch::kCPU).contiguous();  // (I)
    for (int64_t i : seen) scores[i] = -std::numeric_limits<float>::infinity();
    const int64_t k = std::min<int64_t>(args->k, dataset.items.size() - static_cast<int64_t>(seen.size()));
    auto [top_scores, top_items] = scores.topk(k);
    nlohmann::ordered_json out;
    out["user"] = args->user;
    out["cold_start"] = cold_start;
    out["items"] = nlohmann::ordered_json::array();
    for (int64_t r = 0; r < k; ++r)
      out["items"].push_back({{"rank", r + 1},
                              {"item", dataset.items.ids[top_items[r].item<int64_t>()]},
                              {"score", top_scores[r].item<double>()}});
    if (args->json) {
      fmt::print("{}\n", out.dump(2));
      return;
    }
    fmt::print("{:>4}  {:<24} {:>9}\n", "rank", "item", "score");
    for (const auto& it : out["items"])
      fmt::print("{:>4}  {:<24} {:>9.4f}\n", it["rank"].get<int64_t>(), it["item"].get<std::string>(),
                 it["score"].get<double>());
  });
}

}  // namespace ftmamba::cli
