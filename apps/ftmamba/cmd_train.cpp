// defines: `ftmamba train`, which trains a two-tower model on a dataset folder and writes a run folder
// (config.json, model.safetensors, history.jsonl, metrics.json, sampled_negatives.safetensors).
#include <fmt/format.h>

#include "cli_checks.h"
#include "cli_device.h"
#include "cli_output.h"
#include "cli_precision.h"
#include "cli_threads.h"
#include "cli_warnings.h"
#include "commands.h"
#include "ftmamba/core/printable.h"
#include "ftmamba/eval/evaluate.h"
#include "ftmamba/experiments/train_run.h"
#include "ftmamba/nn/encoder.h"

namespace ftmamba::cli {

void add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train a two-tower model and evaluate it on the test split");
  struct Args {
    std::string data, out, config;
    experiments::TrainRequest request;
  };
  auto args = std::make_shared<Args>();
  auto& req = args->request;
  cmd->add_option("--data", args->data, "Dataset folder")->required();
  cmd->add_option("--out", args->out, "Run folder to write (new, empty, or a run to replace with --force)")->required();
  add_force_flag(cmd, req.force, "run");
  add_resume_flag(cmd, req.resume);
  check_choice(cmd->add_option("--model", req.config.model, "Tower model (same as --set model.type=...)"),
               enum_names<nn::EncoderType>());
  cmd->add_option("--config", args->config, "TOML config file")->check(CLI::ExistingFile);
  cmd->add_option("--set", req.config.sets, "Override a config key: section.key=value (repeatable)");
  add_device_option(cmd, req.device);
  add_precision_option(cmd, req.config.precision, " (same as --set train.precision=...; default fp32)");
  add_threads_option(cmd, req.config.threads, "train.threads; same as --set train.threads=N");
  cmd->add_flag("--no-graph", req.config.no_graph,
                "On a GPU, run every step eagerly instead of replaying a CUDA graph of the full-batch step "
                "(same as --set train.cuda_graph=false)");
  cmd->add_flag("--quiet,-q", req.quiet, "No progress bar");
  cmd->add_flag("--dry-run", req.dry_run, "Build the model, print its parameter counts per tower and stop");
  cmd->callback([args] {
    auto req = args->request;
    req.data_dir = args->data;
    req.out_dir = args->out;
    req.config.file = args->config;
    req.on_setup = [&args](const experiments::TrainSetup& s) {
      fmt::print(stderr,
                 "{}: {} users, {} items, {} interactions\nsplit: {} train / {} valid / {} test\n"
                 "model: {} parameters; on {}, {}\n",
                 printable(args->data), s.data.users, s.data.items, s.data.interactions, s.data.train, s.data.valid,
                 s.data.test, s.parameters, s.device.str(), enum_name(s.precision));
      if (const auto note = ops::slow_precision_note(s.precision, s.device); !note.empty())
        fmt::print(stderr, "note: {}\n", note);
    };
    if (!req.quiet)
      req.on_epoch = [](const run::EpochRecord& e) { fmt::print(stderr, "{}\n", experiments::format_epoch_line(e)); };

    const auto outcome = experiments::train_run(req);

    const auto& s = outcome.setup;
    if (!outcome.run) {
      fmt::print("model {}: {} parameters (user tower {}, item tower {})\n", s.model_label, s.parameters,
                 s.user_tower_parameters, s.item_tower_parameters);
      return;
    }
    const auto& m = outcome.run->metrics;
    fmt::print("{}\n", eval::format_metrics_table(m.test));
    fmt::print("run written to {} (best epoch {}, {:.0f} train samples/s)\n", printable(outcome.run->dir.string()),
               m.best_epoch, m.train_samples_per_sec);
    print_popularity_warning(m.test);
  });
}

}  // namespace ftmamba::cli
