// defines: `ftmamba train`, which trains a two-tower model on a dataset folder and writes a run folder
// (config.json, model.safetensors, history.jsonl, metrics.json, sampled_negatives.safetensors).
#include <fmt/format.h>

#include <filesystem>

#include "cli_device.h"
#include "cli_precision.h"
#include "commands.h"
#include "ftmamba/core/error.h"
#include "ftmamba/core/threads.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/ops/precision.h"
#include "ftmamba/run/config.h"
#include "ftmamba/run/run.h"
#include "train_and_report.h"

namespace ftmamba::cli {
namespace fs = std::filesystem;

void add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train a two-tower model and evaluate it on the test split");
  struct Args {
    std::string data, out, model, config, device = "auto", precision;
    std::vector<std::string> sets;
    bool quiet = false, dry_run = false, no_graph = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--data", args->data, "Dataset folder")->required();
  cmd->add_option("--out", args->out, "Run folder to write (replaced if it exists)")->required();
  cmd->add_option("--model", args->model, "Tower model (same as --set model.type=...)");
  cmd->add_option("--config", args->config, "TOML config file")->check(CLI::ExistingFile);
  cmd->add_option("--set", args->sets, "Override a config key: section.key=value (repeatable)");
  add_device_option(cmd, args->device);
  add_precision_option(cmd, args->precision, " (same as --set train.precision=...; default fp32)");
  cmd->add_flag("--no-graph", args->no_graph,
                "On a GPU, run every step eagerly instead of replaying a CUDA graph of the full-batch step "
                "(same as --set train.cuda_graph=false)");
  cmd->add_flag("--quiet,-q", args->quiet, "No progress bar");
  cmd->add_flag("--dry-run", args->dry_run, "Build the model, print its parameter counts per tower and stop");
  cmd->callback([args] {
    run::RunConfig cfg;
    if (!args->config.empty()) cfg.load_toml(args->config);
    if (!args->model.empty()) cfg.set("model.type", args->model);
    for (const auto& s : args->sets) cfg.set_assignment(s);
    if (args->no_graph) cfg.train.cuda_graph = false;
    if (!args->precision.empty()) cfg.set("train.precision", args->precision);
    cfg.validate();
    torch::manual_seed(static_cast<uint64_t>(cfg.train.seed));
    set_cpu_threads(static_cast<int>(cfg.train.threads));
    const torch::Device device = choose_device(args->device);
    ops::check_precision_supported(cfg.train.precision, device);

    auto data = run::prepare_data(args->data, cfg);
    run::Run run;
    run.data_dir = fs::absolute(args->data).lexically_normal();
    run.config = cfg;
    run.user_encoding = data.user_encoding;
    run.item_encoding = data.item_encoding;
    run.model = run::build_model(cfg, data.user_encoding, data.item_encoding);
    run.model->to(device);  // before the optimizer sees the parameters
    const int64_t n_params = run::count_parameters(*run.model);
    fmt::print(
        stderr, "{}: {} users, {} items, {} interactions ({} train / {} valid / {} test); {} params; on {}, {}\n",
        args->data, data.users.size(), data.items.size(), data.dataset.interactions.size(), data.split.train.size(),
        data.split.valid.size(), data.split.test.size(), n_params, device.str(), enum_name(cfg.train.precision));

    if (args->dry_run) {
      const int64_t u = run::count_parameters(*run.model->user_tower),
                    i = run::count_parameters(*run.model->item_tower);
      fmt::print("model {}: {} parameters (user tower {}, item tower {})\n", cfg.model_label(), n_params, u, i);
      return;
    }
    io::StagedDir out(args->out);
    io::write_file_atomic(out.path() / "config.json", run.config_json().dump(2) + "\n");
    TrainAndReport report;
    report.quiet = args->quiet;
    report.save_weights = [&](const fs::path& dir) {
      run::save_model(dir / "model.safetensors", *run.model, {{"format", "pt"}});
    };
    train_and_report(out, run, data, device, report);
  });
}

}  // namespace ftmamba::cli
