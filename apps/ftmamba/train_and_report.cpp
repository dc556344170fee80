// defines: train_and_report (see train_and_report.h).
#include "train_and_report.h"

#include <fmt/format.h>

#include "ftmamba/core/device.h"
#include "ftmamba/eval/evaluate.h"
#include "ftmamba/run/run.h"
#include "ftmamba/train/trainer.h"

namespace ftmamba::cli {

void train_and_report(io::StagedDir& out, run::Run& run, const run::PreparedData& data, torch::Device device,
                      const TrainAndReport& options) {
  const auto& cfg = run.config;
  std::vector<run::EpochRecord> history;
  train::TrainOptions opts;
  opts.quiet = options.quiet;
  opts.on_epoch = [&](const run::EpochRecord& rec) {
    history.push_back(rec);
    run::write_history(out.path() / "history.jsonl", history);
    if (!options.quiet)
      fmt::print(stderr, "epoch {:>3}  loss {:.4f}  valid HR@10 {:.4f}  {:.0f} samples/s  {:.1f}s{}{}\n", rec.epoch,
                 rec.loss, rec.valid_hr10(), rec.samples_per_sec, rec.seconds,
                 rec.skipped_steps > 0 ? fmt::format("  ({} fp16 steps skipped)", rec.skipped_steps) : "",
                 rec.best ? "  *" : "");
  };
  auto result = train::train_two_tower(run.model, data, cfg, opts);
  options.save_weights(out.path());

  auto negatives = eval::load_or_draw_negatives(out.path(), data, cfg.eval.sampled_negatives,
                                                static_cast<uint64_t>(cfg.eval.sample_seed), /*save=*/true);
  auto ev = eval::evaluate_test(run.model, data, cfg.eval.batch_size, negatives);
  run::RunMetrics metrics = options.metrics;  // the fine-tuning fields, when given
  metrics.model_type = cfg.model_label();
  metrics.parameters = run::count_parameters(*run.model);
  metrics.best_epoch = result.best_epoch;
  metrics.best_valid_hr10 = result.best_valid_hr10;
  metrics.epochs_run = static_cast<int64_t>(result.history.size());
  metrics.stopped_early = result.stopped_early;
  metrics.train_seconds = result.train_seconds;
  metrics.train_samples_per_sec = result.samples_per_sec;
  metrics.device = device.str();
  metrics.precision = enum_name(cfg.train.precision);
  if (device.is_cuda()) metrics.peak_gpu_allocated_mib = peak_gpu_allocated_mib(device);
  metrics.test = ev;
  run::write_metrics(out.path() / "metrics.json", metrics);
  out.commit();
  fmt::print("{}\n", eval::format_metrics_table(ev));
  fmt::print("run written to {} (best epoch {}, {:.0f} train samples/s)\n", out.final_path().string(),
             result.best_epoch, result.samples_per_sec);
}

}  // namespace ftmamba::cli
