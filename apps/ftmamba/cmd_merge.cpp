// defines: `ftmamba merge`, which folds a LoRA run's adapters into its base weights and writes a standalone
// run folder (model.safetensors, no adapter file, no dependency on the base run).
#include <fmt/format.h>

#include "cli_output.h"
#include "commands.h"
#include "ftmamba/core/printable.h"
#include "ftmamba/run/merge_lora.h"

namespace ftmamba::cli {

void add_merge_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("merge", "Fold a LoRA run's adapters into the weights: a standalone run folder");
  struct Args {
    std::string run, out;
    bool force = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--run", args->run, "A LoRA run folder (from `ftmamba finetune`)")->required();
  cmd->add_option("--out", args->out, "Run folder to write (new, empty, or a run to replace with --force)")->required();
  add_force_flag(cmd, args->force, "run");
  cmd->callback([args] {
    const run::MergeResult r = run::merge_lora_run(args->run, args->out, args->force);

    fmt::print("merged {} adapters into {}{}\n", r.merged, printable(args->out),
               r.max_difference
                   ? fmt::format("; max |merged - unmerged| embedding difference {:.2e}", *r.max_difference)
                   : std::string(" (dataset folder gone: outputs not compared)"));
  });
}

}  // namespace ftmamba::cli
