// defines: `ftmamba finetune`, which continues training a trained run on a dataset with the same schema:
// with LoRA adapters on a frozen base (writing adapters.safetensors, PEFT names, plus the base run's path and
// SHA-256) or, with --full, every weight (writing a standalone model.safetensors).
#include <fmt/format.h>

#include <algorithm>

#include "cli_device.h"
#include "cli_output.h"
#include "cli_precision.h"
#include "cli_threads.h"
#include "cli_warnings.h"
#include "commands.h"
#include "ftmamba/core/printable.h"
#include "ftmamba/eval/evaluate.h"
#include "ftmamba/experiments/finetune_run.h"

namespace ftmamba::cli {

void add_finetune_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("finetune", "Fine-tune a trained run on new data: LoRA adapters, or --full");
  struct Args {
    std::string run, data, out;
    experiments::FinetuneRequest request;
  };
  auto args = std::make_shared<Args>();
  auto& req = args->request;
  auto& ft = req.options;
  cmd->add_option("--run", args->run, "The base run folder (trained by `ftmamba train`)")->required();
  cmd->add_option("--data", args->data, "Dataset folder with the base run's schema")->required();
  cmd->add_option("--out", args->out, "Run folder to write (new, empty, or a run to replace with --force)")->required();
  add_force_flag(cmd, req.force, "run");
  add_resume_flag(cmd, req.resume);
  cmd->add_flag("--full", ft.full, "Train every weight (the baseline) instead of LoRA adapters");
  cmd->add_option("--lora.rank", ft.lora.rank, "Adapter rank r")->capture_default_str();
  cmd->add_option("--lora.alpha", ft.lora.alpha, "Adapter scaling alpha (the update is alpha / r B A x)")
      ->capture_default_str();
  cmd->add_option("--lora.dropout", ft.lora.dropout, "Dropout on the adapters' input, in training")
      ->capture_default_str();
  cmd->add_option("--lora.targets", ft.targets,
                  "Comma-separated globs over projection paths or names (default: in_proj,x_proj,dt_proj,out_proj "
                  "for FT-Mamba; W_q,W_k,W_v,W_out and the FFN layers for FT-Transformer)")
      ->delimiter(',');
  cmd->add_option("--lora.train-extra", ft.train_extra,
                  "Comma-separated globs over parameter names also trained, e.g. '*head*,*norm*,*cls*'")
      ->delimiter(',');
  cmd->add_option("--set", req.config.sets, "Override a training key: train.epochs=3, train.lr=1e-3, ... (repeatable)");
  add_device_option(cmd, req.device);
  add_precision_option(cmd, req.config.precision, " (default: the base run's)");
  add_threads_option(cmd, req.config.threads, "the base run's train.threads; same as --set train.threads=N");
  cmd->add_flag("--no-graph", req.config.no_graph, "On a GPU, run every step eagerly (no CUDA graph)");
  cmd->add_flag("--quiet,-q", req.quiet, "No progress bar");
  cmd->callback([args] {
    auto req = args->request;
    req.base_run = args->run;
    req.data_dir = args->data;
    req.out_dir = args->out;
    req.on_setup = [&args, &req](const experiments::FinetuneSetup& s) {
      const auto& ft = req.options;
      const auto& p = s.plan.parameters;
      fmt::print(stderr,
                 "{}: {} users, {} items, {} interactions ({} train); fine-tuning {} of {} parameters ({:.2f}%), "
                 "{}{}; on {}, {}\n",
                 printable(args->data), s.data.users, s.data.items, s.data.interactions, s.data.train, p.trainable,
                 p.total, 100.0 * p.trainable / std::max<int64_t>(p.total, 1),
                 ft.full ? "full" : fmt::format("LoRA r={} alpha={} on ", ft.lora.rank, ft.lora.alpha),
                 ft.full ? "" : fmt::format("{} projections", s.plan.adapted.size()), s.device.str(),
                 enum_name(s.precision));
      if (const auto note = ops::slow_precision_note(s.precision, s.device); !note.empty())
        fmt::print(stderr, "note: {}\n", note);
    };
    if (!req.quiet)
      req.on_epoch = [](const run::EpochRecord& e) { fmt::print(stderr, "{}\n", experiments::format_epoch_line(e)); };

    const auto outcome = experiments::finetune_run(req);

    const auto& m = outcome.run.metrics;
    fmt::print("{}\n", eval::format_metrics_table(m.test));
    fmt::print("run written to {} (best epoch {}, {:.0f} train samples/s)\n", printable(outcome.run.dir.string()),
               m.best_epoch, m.train_samples_per_sec);
    print_popularity_warning(m.test);
  });
}

}  // namespace ftmamba::cli
