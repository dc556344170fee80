// defines: `ftmamba eval`, which re-evaluates a run folder on its dataset's test split.
#include <fmt/format.h>

#include "cli_device.h"
#include "cli_precision.h"
#include "cli_threads.h"
#include "cli_warnings.h"
#include "commands.h"
#include "ftmamba/eval/evaluate.h"
#include "ftmamba/eval/evaluate_run.h"

namespace ftmamba::cli {

void add_eval_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("eval", "Evaluate a trained run (model, oracle and popularity rows)");
  struct Args {
    std::string run, data, device = "auto", precision = "fp32";
    bool json = false;
    std::optional<int64_t> threads;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--run", args->run, "Run folder")->required();
  cmd->add_option("--data", args->data, "Dataset folder (default: the one the run was trained on)");
  cmd->add_flag("--json", args->json, "Print JSON instead of a table");
  add_device_option(cmd, args->device);
  add_precision_option(cmd, args->precision, " (default fp32)");
  add_threads_option(cmd, args->threads, "the run's train.threads");
  cmd->callback([args] {
    apply_threads(args->threads);
    const torch::Device device = choose_device(args->device);
    const auto precision = parse_enum<ops::Precision>(args->precision);

    const auto ev = eval::evaluate_run(args->run, args->data, precision, device);

    if (args->json)
      fmt::print("{}\n", ev.dump(2));
    else
      fmt::print("{}", eval::format_metrics_table(ev));
    if (!args->json) print_popularity_warning(ev);  // JSON carries the figures; its stdout stays parseable
  });
}

}  // namespace ftmamba::cli
