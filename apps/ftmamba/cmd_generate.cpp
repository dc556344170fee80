// defines: `ftmamba generate`, which writes a synthetic dataset folder (with its oracle) from a preset.
#include <fmt/format.h>

#include <limits>

#include "cli_checks.h"
#include "cli_output.h"
#include "commands.h"
#include "ftmamba/core/printable.h"
#include "ftmamba/data/presets/preset.h"

namespace ftmamba::cli {

void add_generate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("generate", "Generate a synthetic dataset from a known preference model");
  struct Args {
    std::string preset = "spotify", out, drift;
    int64_t pairs = 160000;
    uint64_t seed = 1, drift_seed = 0;
    double drift_strength = 0.7;
    bool force = false;
  };
  auto args = std::make_shared<Args>();
  check_choice(cmd->add_option("--preset", args->preset, "Dataset preset")->capture_default_str(),
               data::preset_names());
  check_int_range(cmd->add_option("--pairs", args->pairs, "Number of user-action pairs")->capture_default_str(), 1,
                  std::numeric_limits<int64_t>::max());
  cmd->add_option("--seed", args->seed, "Random seed")->capture_default_str();
  cmd->add_option("--out", args->out, "Output dataset folder (new, empty, or a dataset to replace with --force)")
      ->required();
  add_force_flag(cmd, args->force, "dataset");
  cmd->add_option("--drift", args->drift,
                  "Shift the preferences of one user segment, COLUMN=LEVEL or COLUMN>X / COLUMN<X (e.g. "
                  "premium=yes, age>40): same users, items and other users' interactions as without --drift");
  cmd->add_option("--drift-strength", args->drift_strength, "How far the segment's taste moves, in (0, 1]")
      ->capture_default_str();
  cmd->add_option("--drift-seed", args->drift_seed, "Seed of the direction the segment moves toward")
      ->capture_default_str();
  cmd->callback([args] {
    data::GenerateOptions opts;
    opts.pairs = args->pairs;
    opts.seed = args->seed;
    if (!args->drift.empty()) {
      opts.drift = data::Drift::parse(args->drift);
      opts.drift->strength = args->drift_strength;
      opts.drift->direction_seed = args->drift_seed;
    }
    data::generate_dataset(args->preset, opts, args->out, args->force);
    fmt::print("wrote {} ({} preset, {} pairs, seed {}{})\n", printable(args->out), args->preset, args->pairs,
               args->seed, opts.drift ? ", drift " + opts.drift->segment() : "");
  });
}

}  // namespace ftmamba::cli
