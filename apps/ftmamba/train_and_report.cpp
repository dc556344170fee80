// defines: train_and_report (see train_and_report.h).
#include "train_and_report.h"

#include <fmt/format.h>

#include "ftmamba/core/device.h"
#include "ftmamba/eval/evaluate.h"
#include "ftmamba/train/trainer.h"
#include "ftmamba/run/run.h"

namespace ftmamba::cli {

void train_and_report(io::StagedDir& out, run::Run& run, const run::PreparedData& data, torch::Device device,
                      const TrainAndReport& options) {
  const auto& cfg = run.config;
  std::string history;
  train::TrainOptions opts;
  opts.quiet = options.quiet;
  opts.on_epoch = [&](const nlohmann::json& rec) {
    history += rec.dump() + "\n";
    io::write_file_atomic(out.path() / "history.jsonl", history);
    if (!options.quiet)
      fmt::print(stderr, "epoch {:>3}  loss {:.4f}  valid HR@10 {:.4f}  {:.0f} samples/s  {:.1f}s{}{}\n",
                 rec["epoch"].get<int64_t>(), rec["loss"].get<double>(), rec["valid"].value("HR@10", 0.0),
                 rec["samples_per_sec"].get<double>(), rec["seconds"].get<double>(),
                 rec.value("skipped_steps", 0) > 0 ? fmt::format("  ({} fp16 steps skipped)", rec["skipped_steps"].get<int64_t>()) : "",
                 rec["best"].get<bool>() ? "  *" : "");
  };
  auto result = train::train_two_tower(run.model, data, cfg, opts);
  options.save_weights(out.path());

  auto negatives = eval::load_or_draw_negatives(out.path(), data, cfg.eval.sampled_negatives,
                                                static_cast<uint64_t>(cfg.eval.sample_seed), /*save=*/true);
  auto ev = eval::evaluate_test(run.model, data, cfg.eval.batch_size, negatives);
  nlohmann::ordered_json metrics;
  metrics["model_type"] = cfg.model_label();
  metrics["parameters"] = run::count_parameters(*run.model);
  metrics["best_epoch"] = result.best_epoch;
  metrics["best_valid_HR@10"] = result.best_valid_hr10;
  metrics["epochs_run"] = result.history.size();
  metrics["stopped_early"] = result.stopped_early;
  metrics["train_seconds"] = result.train_seconds;
  metrics["train_samples_per_sec"] = result.samples_per_sec;
  metrics["device"] = device.str();
  metrics["precision"] = cfg.train.precision;
  if (device.is_cuda()) metrics["peak_gpu_allocated_mib"] = peak_gpu_allocated_mib(device);
  for (const auto& [k, v] : options.extra_metrics.items()) metrics[k] = v;
  metrics["test"] = ev;
  io::write_file_atomic(out.path() / "metrics.json", metrics.dump(2) + "\n");
  out.commit();
  fmt::print("{}\n", eval::format_metrics_table(ev));
  fmt::print("run written to {} (best epoch {}, {:.0f} train samples/s)\n", out.final_path().string(),
             result.best_epoch, result.samples_per_sec);
}

}  // namespace ftmamba::cli
