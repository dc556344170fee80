// defines: finetune_run and peft_adapter_config (see finetune_run.h).
#include "ftmamba/experiments/finetune_run.h"

#include "ftmamba/core/device.h"
#include "ftmamba/core/error.h"
#include "ftmamba/core/threads.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/io/sha256.h"
#include "ftmamba/run/run.h"

namespace ftmamba::experiments {
namespace fs = std::filesystem;

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

FinetuneOutcome finetune_run(const FinetuneRequest& request) {
  const auto& ft = request.options;
  const std::string base_name = request.base_run.string();
  const torch::Device device = choose_device(request.device);
  // Before anything is read: --out may not be the base run or the data (nor hold or sit in them), and is locked.
  io::StagedDir out(request.out_dir,
                    run_output_policy(request.force, request.resume, {request.base_run, request.data_dir}));
  run::Run run = run::Run::load(request.base_run, device);
  if (run.is_lora())
    throw Error(base_name + " is a LoRA run; merge it first (ftmamba merge --run " + base_name +
                " --out DIR) and fine-tune the merged run");
  const fs::path base_model = request.base_run / "model.safetensors";
  run::RunConfig& cfg = run.config;
  const auto model_before = cfg.to_json().at("model");
  run::apply_config_sources(cfg, request.config);
  if (cfg.to_json().at("model") != model_before)
    throw Error("finetune keeps the base run's model; --set may change train.*, data.* and eval.* keys only");
  cfg.validate();
  ops::check_precision_supported(cfg.train.precision, device);
  torch::manual_seed(static_cast<uint64_t>(cfg.train.seed));
  set_cpu_threads(static_cast<int>(cfg.train.threads));

  // The base run's encodings: the same columns, vocabularies and statistics (new categories are unknown).
  const auto data = run::prepare_data(request.data_dir, cfg, &run.user_encoding, &run.item_encoding);
  run.data_dir = fs::absolute(request.data_dir).lexically_normal();
  run.model->to(torch::kCPU);  // adapters are created on the CPU; everything moves together below
  const auto plan = train::prepare_finetune(run.model, cfg, ft);
  run.model->to(device);
  const fs::path base_run = fs::absolute(request.base_run).lexically_normal();
  const std::string base_hash = io::sha256_file(base_model);
  run.finetune = ft.to_json();
  if (!ft.full && ft.targets.empty()) run.finetune["targets"] = run::default_lora_targets(cfg);
  run.finetune["base_run"] = base_run.string();
  run.finetune["base_model_sha256"] = base_hash;
  run.finetune["adapted"] = plan.adapted;
  run.finetune["trainable_parameters"] = plan.parameters.trainable;
  run.finetune["total_parameters"] = plan.parameters.total;

  FinetuneOutcome outcome;
  outcome.setup = {count_data(data), plan, device, cfg.train.precision};
  if (request.on_setup) request.on_setup(outcome.setup);

  TrainAndEvaluateOptions options;
  options.quiet = request.quiet;
  options.on_epoch = request.on_epoch;
  options.metrics.finetune = ft.full ? "full" : "lora";
  options.metrics.trainable_parameters = plan.parameters.trainable;
  options.metrics.base_run = base_run.string();
  options.save_weights = [&](const fs::path& dir) {
    if (ft.full) {
      run::save_model(dir / "model.safetensors", *run.model, {{"format", "pt"}});
      return;
    }
    run::save_adapters(dir / "adapters.safetensors", *run.model,
                       {{"format", "pt"}, {"base_run", base_run.string()}, {"base_model_sha256", base_hash}});
    io::write_file_atomic(dir / "adapter_config.json", peft_adapter_config(ft, plan.adapted, base_run).dump(2) + "\n");
  };
  outcome.run = train_and_evaluate(out, run, data, device, options);
  return outcome;
}

}  // namespace ftmamba::experiments
