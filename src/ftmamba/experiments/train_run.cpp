// defines: train_run (see train_run.h).
#include "ftmamba/experiments/train_run.h"

#include <optional>

#include "ftmamba/core/device.h"
#include "ftmamba/core/threads.h"
#include "ftmamba/run/run.h"

namespace ftmamba::experiments {
namespace fs = std::filesystem;

TrainOutcome train_run(const TrainRequest& request) {
  const run::RunConfig cfg = run::config_from_sources(request.config);
  torch::manual_seed(static_cast<uint64_t>(cfg.train.seed));
  set_cpu_threads(static_cast<int>(cfg.train.threads));
  const torch::Device device = choose_device(request.device);
  ops::check_precision_supported(cfg.train.precision, device);
  const io::OutputPolicy policy = run_output_policy(request.force, request.resume, {request.data_dir});
  std::optional<io::StagedDir> out;  // before the data is read: a bad --out fails at once, and is locked
  if (request.dry_run)
    io::StagedDir::check(request.out_dir, policy);
  else
    out.emplace(request.out_dir, policy);

  const auto data = run::prepare_data(request.data_dir, cfg);
  run::Run run;
  run.data_dir = fs::absolute(request.data_dir).lexically_normal();
  run.config = cfg;
  run.user_encoding = data.user_encoding;
  run.item_encoding = data.item_encoding;
  run.model = run::build_model(cfg, data.user_encoding, data.item_encoding);
  run.model->to(device);  // before the optimizer sees the parameters

  TrainOutcome outcome;
  TrainSetup& s = outcome.setup;
  s.data = count_data(data);
  s.parameters = run::count_parameters(*run.model);
  s.user_tower_parameters = run::count_parameters(*run.model->user_tower);
  s.item_tower_parameters = run::count_parameters(*run.model->item_tower);
  s.model_label = cfg.model_label();
  s.device = device;
  s.precision = cfg.train.precision;
  if (request.on_setup) request.on_setup(s);
  if (request.dry_run) return outcome;

  TrainAndEvaluateOptions options;
  options.quiet = request.quiet;
  options.on_epoch = request.on_epoch;
  options.save_weights = [&](const fs::path& dir) {
    run::save_model(dir / "model.safetensors", *run.model, {{"format", "pt"}});
  };
  outcome.run = train_and_evaluate(*out, run, data, device, options);
  return outcome;
}

}  // namespace ftmamba::experiments
