// defines: `ftmamba compare`, which trains and evaluates each model with each seed on one dataset and writes
// comparison.json and the report (experiments/compare.h).
#include <fmt/format.h>

#include "cli_checks.h"
#include "cli_device.h"
#include "cli_lists.h"
#include "cli_threads.h"
#include "cli_warnings.h"
#include "commands.h"
#include "ftmamba/experiments/compare.h"

namespace ftmamba::cli {

void add_compare_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "compare", "Train and evaluate several models over several seeds on one dataset and write a report");
  struct Args {
    std::string models = "ft-mamba,ft-transformer", seeds = "1,2,3", device = "auto";
    experiments::CompareOptions options;
  };
  auto args = std::make_shared<Args>();
  auto& o = args->options;
  cmd->add_option("--data", o.data, "Dataset folder")->required();
  cmd->add_option("--out", o.out, "Report folder (runs go to OUT/runs)")->required();
  cmd->add_option("--models", args->models, "Comma-separated model types: " + enum_choices<nn::EncoderType>())
      ->capture_default_str();
  cmd->add_option("--seeds", args->seeds, "Comma-separated training seeds")->capture_default_str();
  cmd->add_option("--config", o.config, "TOML config file for every run")->check(CLI::ExistingFile);
  cmd->add_option("--set", o.sets, "Override a config key for every run: section.key=value (repeatable)");
  check_int_range(
      cmd->add_option("--bias-k", o.bias_k, "Top-k list length for the popularity-bias figure")->capture_default_str(),
      1, 100000);
  cmd->add_option("--title", o.title, "Report title (default: dataset name and models)");
  add_device_option(cmd, args->device);
  add_threads_option(cmd, o.threads, "train.threads; every training and the evaluations");
  cmd->add_flag("--force", o.force, "Retrain runs that already finished with the same settings");
  cmd->add_flag("--quiet,-q", o.quiet, "Only the summary, no per-epoch lines");
  cmd->callback([args] {
    auto o = args->options;
    apply_threads(o.threads);
    o.device = choose_device(args->device);
    o.models = parse_enum_list<nn::EncoderType>("--models", args->models);
    o.seeds = parse_int_list("--seeds", args->seeds);
    const auto result = experiments::run_compare(o);
    fmt::print("report written to {} (report.html, report.md, figures/; {} runs, {:.0f} s)\n", o.out, result.runs,
               result.seconds);
    for (const auto& warning : result.warnings) print_warning(warning);
  });
}

}  // namespace ftmamba::cli
