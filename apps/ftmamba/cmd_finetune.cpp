// defines: `ftmamba finetune`, which continues training a trained run on a dataset with the same schema:
// with LoRA adapters on a frozen base (writing adapters.safetensors, PEFT names, plus the base run's path and
// SHA-256) or, with --full, every weight (writing a standalone model.safetensors).
#include <fmt/format.h>

#include <filesystem>

#include "cli_device.h"
#include "cli_precision.h"
#include "commands.h"
#include "ftmamba/core/error.h"
#include "ftmamba/core/threads.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/io/sha256.h"
#include "ftmamba/ops/precision.h"
#include "ftmamba/run/adapters.h"
#include "ftmamba/run/config.h"
#include "ftmamba/run/run.h"
#include "ftmamba/train/finetune.h"
#include "train_and_report.h"

namespace ftmamba::cli {
namespace fs = std::filesystem;

namespace {
// PEFT's adapter_config.json, so that PEFT-aware tooling can read the adapter folder's settings.
nlohmann::ordered_json peft_adapter_config(const run::FinetuneOptions& o, const std::vector<std::string>& adapted,
                                           const fs::path& base_run) {
  nlohmann::ordered_json j;
  j["peft_type"] = "LORA";
  j["base_model_name_or_path"] = base_run.string();
  j["r"] = o.lora.rank;
  j["lora_alpha"] = o.lora.alpha;
  j["lora_dropout"] = o.lora.dropout;
  j["target_modules"] = adapted;
  j["modules_to_save"] = o.train_extra;
  j["bias"] = "none";
  j["fan_in_fan_out"] = false;
  return j;
}
}  // namespace

void add_finetune_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("finetune", "Fine-tune a trained run on new data: LoRA adapters, or --full");
  struct Args {
    std::string run, data, out, device = "auto", precision;
    std::vector<std::string> sets;
    run::FinetuneOptions ft;
    bool quiet = false, no_graph = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--run", args->run, "The base run folder (trained by `ftmamba train`)")->required();
  cmd->add_option("--data", args->data, "Dataset folder with the base run's schema")->required();
  cmd->add_option("--out", args->out, "Run folder to write (replaced if it exists)")->required();
  cmd->add_flag("--full", args->ft.full, "Train every weight (the baseline) instead of LoRA adapters");
  cmd->add_option("--lora.rank", args->ft.lora.rank, "Adapter rank r")->capture_default_str();
  cmd->add_option("--lora.alpha", args->ft.lora.alpha, "Adapter scaling alpha (the update is alpha / r B A x)")
      ->capture_default_str();
  cmd->add_option("--lora.dropout", args->ft.lora.dropout, "Dropout on the adapters' input, in training")
      ->capture_default_str();
  cmd->add_option("--lora.targets", args->ft.targets,
                  "Comma-separated globs over projection paths or names (default: in_proj,x_proj,dt_proj,out_proj "
                  "for FT-Mamba; W_q,W_k,W_v,W_out and the FFN layers for FT-Transformer)")
      ->delimiter(',');
  cmd->add_option("--lora.train-extra", args->ft.train_extra,
                  "Comma-separated globs over parameter names also trained, e.g. '*head*,*norm*,*cls*'")
      ->delimiter(',');
  cmd->add_option("--set", args->sets, "Override a training key: train.epochs=3, train.lr=1e-3, ... (repeatable)");
  add_device_option(cmd, args->device);
  add_precision_option(cmd, args->precision, " (default: the base run's)");
  cmd->add_flag("--no-graph", args->no_graph, "On a GPU, run every step eagerly (no CUDA graph)");
  cmd->add_flag("--quiet,-q", args->quiet, "No progress bar");
  cmd->callback([args] {
    const torch::Device device = choose_device(args->device);
    run::Run run = run::Run::load(args->run, device);
    if (run.is_lora())
      throw Error(args->run + " is a LoRA run; merge it first (ftmamba merge --run " + args->run +
                  " --out DIR) and fine-tune the merged run");
    const fs::path base_model = fs::path(args->run) / "model.safetensors";
    run::RunConfig& cfg = run.config;
    const auto model_before = cfg.to_json().at("model");
    for (const auto& s : args->sets) cfg.set_assignment(s);
    if (cfg.to_json().at("model") != model_before)
      throw Error("finetune keeps the base run's model; --set may change train.*, data.* and eval.* keys only");
    if (!args->precision.empty()) cfg.set("train.precision", args->precision);
    if (args->no_graph) cfg.train.cuda_graph = false;
    cfg.validate();
    ops::check_precision_supported(cfg.train.precision, device);
    torch::manual_seed(static_cast<uint64_t>(cfg.train.seed));
    set_cpu_threads(static_cast<int>(cfg.train.threads));

    // The base run's encodings: the same columns, vocabularies and statistics (new categories are unknown).
    auto data = run::prepare_data(args->data, cfg, &run.user_encoding, &run.item_encoding);
    run.data_dir = fs::absolute(args->data).lexically_normal();
    run.model->to(torch::kCPU);  // adapters are created on the CPU; everything moves together below
    const auto plan = train::prepare_finetune(run.model, cfg, args->ft);
    run.model->to(device);
    const fs::path base_run = fs::absolute(args->run).lexically_normal();
    const std::string base_hash = io::sha256_file(base_model);
    run.finetune = args->ft.to_json();
    if (!args->ft.full && args->ft.targets.empty()) run.finetune["targets"] = run::default_lora_targets(cfg);
    run.finetune["base_run"] = base_run.string();
    run.finetune["base_model_sha256"] = base_hash;
    run.finetune["adapted"] = plan.adapted;
    run.finetune["trainable_parameters"] = plan.parameters.trainable;
    run.finetune["total_parameters"] = plan.parameters.total;
    fmt::print(stderr,
               "{}: {} users, {} items, {} interactions ({} train); fine-tuning {} of {} parameters ({:.2f}%), "
               "{}{}; on {}, {}\n",
               args->data, data.users.size(), data.items.size(), data.dataset.interactions.size(),
               data.split.train.size(), plan.parameters.trainable, plan.parameters.total,
               100.0 * plan.parameters.trainable / std::max<int64_t>(plan.parameters.total, 1),
               args->ft.full ? "full" : fmt::format("LoRA r={} alpha={} on ", args->ft.lora.rank, args->ft.lora.alpha),
               args->ft.full ? "" : fmt::format("{} projections", plan.adapted.size()), device.str(),
               enum_name(cfg.train.precision));

    io::StagedDir out(args->out);
    io::write_file_atomic(out.path() / "config.json", run.config_json().dump(2) + "\n");
    TrainAndReport report;
    report.quiet = args->quiet;
    report.metrics.finetune = args->ft.full ? "full" : "lora";
    report.metrics.trainable_parameters = plan.parameters.trainable;
    report.metrics.base_run = base_run.string();
    report.save_weights = [&](const fs::path& dir) {
      if (args->ft.full) {
        run::save_model(dir / "model.safetensors", *run.model, {{"format", "pt"}});
        return;
      }
      run::save_adapters(dir / "adapters.safetensors", *run.model,
                         {{"format", "pt"}, {"base_run", base_run.string()}, {"base_model_sha256", base_hash}});
      io::write_file_atomic(dir / "adapter_config.json",
                            peft_adapter_config(args->ft, plan.adapted, base_run).dump(2) + "\n");
    };
    train_and_report(out, run, data, device, report);
  });
}

}  // namespace ftmamba::cli
