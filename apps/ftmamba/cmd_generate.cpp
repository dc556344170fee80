// defines: `ftmamba generate`, which writes a synthetic dataset folder (with its oracle) from a preset.
#include <fmt/format.h>

#include "commands.h"
#include "ftmamba/data/presets/preset.h"

namespace ftmamba::cli {

void add_generate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("generate", "Generate a synthetic dataset from a known preference model");
  struct Args {
    std::string preset = "spotify", out;
    int64_t pairs = 160000;
    uint64_t seed = 1;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--preset", args->preset, "Dataset preset")->capture_default_str();
  cmd->add_option("--pairs", args->pairs, "Number of user-action pairs")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--seed", args->seed, "Random seed")->capture_default_str();
  cmd->add_option("--out", args->out, "Output dataset folder")->required();
  cmd->callback([args] {
    data::GenerateOptions opts;
    opts.pairs = args->pairs;
    opts.seed = args->seed;
    data::generate_dataset(args->preset, opts, args->out);
    fmt::print("wrote {} ({} preset, {} pairs, seed {})\n", args->out, args->preset, args->pairs, args->seed);
  });
}

}  // namespace ftmamba::cli
