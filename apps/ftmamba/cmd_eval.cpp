// defines: `ftmamba eval`, which re-evaluates a run folder on its dataset's test split.
#include <fmt/format.h>

#include "cli_device.h"
#include "cli_precision.h"
#include "commands.h"
#include "ftmamba/core/threads.h"
#include "ftmamba/eval/evaluate.h"
#include "ftmamba/ops/precision.h"
#include "ftmamba/run/run.h"

namespace ftmamba::cli {

void add_eval_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("eval", "Evaluate a trained run (model, oracle and popularity rows)");
  struct Args {
    std::string run, data, device = "auto", precision = "fp32";
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--run", args->run, "Run folder")->required();
  cmd->add_option("--data", args->data, "Dataset folder (default: the one the run was trained on)");
  cmd->add_flag("--json", args->json, "Print JSON instead of a table");
  add_device_option(cmd, args->device);
  add_precision_option(cmd, args->precision, " (default fp32)");
  cmd->callback([args] {
    const torch::Device device = choose_device(args->device);
    auto run = run::Run::load(args->run, device);
    // The towers (and the scoring) in the chosen precision: autocast, or bf16 weights for bf16-pure.
    const ops::Precision precision = parse_enum<ops::Precision>(args->precision);
    ops::cast_weights(*run.model, precision);
    ops::AutocastScope autocast(precision, device);
    set_cpu_threads(static_cast<int>(run.config.train.threads));
    auto data = run::prepare_data(args->data.empty() ? run.data_dir : std::filesystem::path(args->data), run.config,
                                  &run.user_encoding, &run.item_encoding);
    auto negatives = eval::load_or_draw_negatives(run.dir, data, run.config.eval.sampled_negatives,
                                                  static_cast<uint64_t>(run.config.eval.sample_seed), /*save=*/false);
    auto ev = eval::evaluate_test(run.model, data, run.config.eval.batch_size, negatives);
    if (args->json)
      fmt::print("{}\n", ev.dump(2));
    else
      fmt::print("{}", eval::format_metrics_table(ev));
  });
}

}  // namespace ftmamba::cli
