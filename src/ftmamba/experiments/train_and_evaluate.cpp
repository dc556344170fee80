// defines: train_and_evaluate (see train_and_evaluate.h).
#include "ftmamba/experiments/train_and_evaluate.h"

#include "ftmamba/core/device.h"
#include "ftmamba/eval/evaluate.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/run/preflight.h"
#include "ftmamba/run/weight_hashes.h"
#include "ftmamba/train/trainer.h"

namespace ftmamba::experiments {

TrainedRun train_and_evaluate(const std::filesystem::path& out_dir, run::Run& run, const run::PreparedData& data,
                              torch::Device device, const TrainAndEvaluateOptions& options) {
  const auto& cfg = run.config;
  run::check_before_training(cfg, data);  // before the folder and the first step
  io::StagedDir out(out_dir);
  io::write_file_atomic(out.path() / "config.json", run.config_json().dump(2) + "\n");

  std::vector<run::EpochRecord> history;
  train::TrainOptions opts;
  opts.quiet = options.quiet;
  opts.on_epoch = [&](const run::EpochRecord& rec) {
    history.push_back(rec);
    run::write_history(out.path() / "history.jsonl", history);  // a crash keeps the epochs so far
    if (options.on_epoch) options.on_epoch(rec);
  };
  const auto result = train::train_two_tower(run.model, data, cfg, opts);
  options.save_weights(out.path());
  run::record_weight_hashes(out.path());  // config.json gets the SHA-256 of the weights just written

  const auto negatives = eval::load_or_draw_negatives(out.path(), data, cfg.eval.sampled_negatives,
                                                      static_cast<uint64_t>(cfg.eval.sample_seed), /*save=*/true);
  auto test = eval::evaluate_test(run.model, data, cfg.eval.batch_size, negatives);
  TrainedRun trained;
  run::RunMetrics& m = trained.metrics;
  m = options.metrics;
  m.model_type = cfg.model_label();
  m.parameters = run::count_parameters(*run.model);
  m.best_epoch = result.best_epoch;
  m.best_valid_hr10 = result.best_valid_hr10;
  m.epochs_run = static_cast<int64_t>(result.history.size());
  m.stopped_early = result.stopped_early;
  m.train_seconds = result.train_seconds;
  m.train_samples_per_sec = result.samples_per_sec;
  m.device = device.str();
  m.precision = enum_name(cfg.train.precision);
  if (device.is_cuda()) m.peak_gpu_allocated_mib = peak_gpu_allocated_mib(device);  // evaluation included
  m.test = std::move(test);
  run::write_metrics(out.path() / "metrics.json", m);
  out.commit();
  trained.dir = out.final_path();
  return trained;
}

}  // namespace ftmamba::experiments
