// defines: `ftmamba recommend`, the top-k items for one user (known by id, or new with given features), or for
// every user / a list of users, streamed to a CSV or JSON-lines file or stdout.
#include <fmt/format.h>

#include "cli_checks.h"
#include "cli_device.h"
#include "cli_threads.h"
#include "commands.h"
#include "ftmamba/core/error.h"
#include "ftmamba/serve/batch_recommend.h"
#include "ftmamba/serve/recommender.h"

namespace ftmamba::cli {

namespace {
// The longest list --k asks for: far beyond what a reader goes through, short enough that a typo stays cheap.
constexpr int64_t kMaxK = 100000;
}  // namespace

void add_recommend_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("recommend", "Recommend items for a user, a list of users, or every user");
  struct Args {
    std::string run, data, user, users_file, out, format, device = "auto";
    int64_t k = 10, block = 1024;
    bool all = false, json = false, include_seen = false, skip_unknown = false, force = false;
    std::vector<std::string> features;
    std::optional<int64_t> threads;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--run", args->run, "Run folder")->required();
  auto* user = cmd->add_option("--user", args->user, "User id");
  auto* all = cmd->add_flag("--all", args->all, "Every user of the data, to --out");
  auto* users = cmd->add_option("--users", args->users_file,
                                "File of user ids, one per line (blank lines and a user_id header allowed), to --out");
  user->excludes(all)->excludes(users);
  all->excludes(users);
  check_int_range(cmd->add_option("--k", args->k, "Number of items")->capture_default_str(), 1, kMaxK);
  cmd->add_option("--feature", args->features,
                  "Feature of a user not in the data, as name=value (repeatable); unlisted features are missing");
  cmd->add_option("--data", args->data,
                  "Dataset folder (default: the users and items stored in the run, or the dataset it was trained on)");
  cmd->add_flag("--include-seen", args->include_seen, "Do not remove items the user already interacted with");
  cmd->add_flag("--json", args->json, "Print JSON (with --all / --users: the summary and timings)");
  auto* out = cmd->add_option("--out", args->out, "With --all / --users: output file, or - for stdout");
  auto* format = cmd->add_option("--format", args->format, "csv or jsonl (default: jsonl for a .jsonl --out, else csv)")
                     ->check(CLI::IsMember({"csv", "jsonl"}));
  auto* skip = cmd->add_flag("--skip-unknown", args->skip_unknown, "With --users: skip unknown ids with a warning");
  auto* force = cmd->add_flag("--force", args->force, "Replace an existing --out file");
  auto* block = cmd->add_option("--block", args->block, "Users scored together (a block x items score matrix)")
                    ->capture_default_str()
                    ->check(CLI::PositiveNumber);
  add_device_option(cmd, args->device);
  add_threads_option(cmd, args->threads, "the run's train.threads");
  cmd->callback([args, out, format, skip, force, block] {
    apply_threads(args->threads);
    const bool many = args->all || !args->users_file.empty();
    if (!many) {
      if (args->user.empty()) throw CLI::RequiredError("one of --user, --all, --users");
      for (const auto* o : {out, format, skip, force, block})
        if (o->count() > 0) throw CLI::ValidationError(o->get_name(), "needs --all or --users");
    }
    if (many) {
      if (out->count() == 0)
        throw CLI::ValidationError("--out", "is required with --all / --users (a file, or - for stdout)");
      if (!args->features.empty()) throw CLI::ValidationError("--feature", "is for a single --user");
      if (args->json && args->out == serve::kStdout)
        throw CLI::ValidationError("--json", "prints to stdout, which --out - already takes");
      serve::BatchRequest request;
      request.run_dir = args->run;
      request.data_dir = args->data;
      request.all_users = args->all;
      request.users_file = args->users_file;
      request.skip_unknown = args->skip_unknown;
      request.k = args->k;
      request.include_seen = args->include_seen;
      request.out = args->out;
      if (!args->format.empty()) request.format = parse_enum<serve::BatchFormat>(args->format);
      request.force = args->force;
      request.block = args->block;
      request.progress = true;
      const auto s = serve::recommend_to_output(request, choose_device(args->device), log_to_stderr);
      if (args->json) {
        fmt::print("{}\n", serve::to_json(s).dump(2));
      } else if (args->out != serve::kStdout) {
        fmt::print("wrote {} recommendations for {} users to {} in {:.2f} s\n", s.rows, s.users, printable(s.out),
                   s.seconds);
      }
      return;
    }
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
      throw Error("unknown user '" + args->user + "' (not in " + recommender.data().users_source.string() +
                  "); give a new user's features with --feature name=value");
    }
    if (args->json) {
      fmt::print("{}\n", serve::to_json(recs).dump(2));
      return;
    }
    fmt::print("{}", serve::to_table(recs));
  });
}

}  // namespace ftmamba::cli
