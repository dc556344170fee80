// defines: train_and_evaluate (see train_and_evaluate.h).
#include "ftmamba/experiments/train_and_evaluate.h"

#include <fmt/format.h>

#include "ftmamba/core/device.h"
#include "ftmamba/core/error.h"
#include "ftmamba/core/log.h"
#include "ftmamba/eval/evaluate.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/io/json_file.h"
#include "ftmamba/run/inference_data.h"
#include "ftmamba/run/preflight.h"
#include "ftmamba/run/weight_hashes.h"
#include "ftmamba/train/checkpoint.h"
#include "ftmamba/train/trainer.h"

namespace ftmamba::experiments {
namespace fs = std::filesystem;
namespace {

// Keys that may change between an interrupted run and its resumption: how often checkpoints are written, the
// thread count (the CPU kernels give the same results at any count), and the weights' hashes.
void drop_resumable_keys(nlohmann::json& config_json) {
  config_json.erase("sha256");  // recorded once the weights are written, before the evaluation
  auto& train = config_json["config"]["train"];
  for (const char* key : {"checkpoint_steps", "checkpoint_minutes", "threads"}) train.erase(key);
}

// Resuming continues the interrupted run only if it is the same run: same config, data and encodings. Returns
// the first difference ("" for none).
std::string difference(const fs::path& written, nlohmann::json wanted) {
  nlohmann::json before = io::read_json_file(written);
  drop_resumable_keys(before);
  drop_resumable_keys(wanted);
  if (before == wanted) return "";
  const auto diff = nlohmann::json::diff(before, wanted);
  return diff.empty() ? std::string("?") : diff[0].value("path", "?");
}

void check_finite_weights(torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  for (const auto& p : model.named_parameters())
    if (!torch::isfinite(p.value()).all().item<bool>())
      throw Error("the trained weights are not finite (" + p.key() + "); nothing is written");
}

}  // namespace

io::OutputPolicy run_output_policy(bool force, bool resume, std::vector<fs::path> inputs) {
  return {.kind = io::OutputKind::kRun, .force = force, .resume = resume, .inputs = std::move(inputs)};
}

TrainedRun train_and_evaluate(io::StagedDir& out, run::Run& run, const run::PreparedData& data, torch::Device device,
                              const TrainAndEvaluateOptions& options) {
  const auto& cfg = run.config;
  run::check_before_training(cfg, data);  // before the first step
  for (const auto& w : run::data_warnings(data)) log_to_stderr("warning: " + w);
  const fs::path config_file = out.path() / "config.json";
  train::TrainOptions opts;
  opts.quiet = options.quiet;
  opts.checkpoint_dir = out.path() / io::kCheckpointDir;
  opts.resume = out.adopted();
  if (opts.resume && fs::exists(config_file)) {
    if (const std::string diff = difference(config_file, run.config_json()); !diff.empty()) {
      if (!out.policy().force)
        throw Error(
            fmt::format("{}: the interrupted run was started with another config or data (first difference "
                        "at {}); resume with the same arguments, or pass --force to start again",
                        config_file.string(), diff));
      fs::remove_all(opts.checkpoint_dir);  // --force: another run replaces the interrupted one
      opts.resume = false;
    }
  }
  io::write_file_atomic(config_file, run.config_json().dump(2) + "\n");
  opts.on_epoch = [&](const run::EpochRecord& rec, const std::vector<run::EpochRecord>& history) {
    run::write_history(out.path() / "history.jsonl", history);  // a crash keeps the epochs so far
    if (options.on_epoch) options.on_epoch(rec);
  };
  train::TrainResult result;
  try {
    result = train::train_two_tower(run.model, data, cfg, opts);
  } catch (...) {
    if (fs::exists(train::checkpoint_file(opts.checkpoint_dir))) out.keep();  // for --resume
    throw;
  }
  run::write_history(out.path() / "history.jsonl", result.history);
  check_finite_weights(*run.model);
  options.save_weights(out.path());
  run::record_weight_hashes(out.path());
  // The users, items and seen items recommend needs, so that the run answers without its dataset.
  run::InferenceData::from_prepared(data).save(out.path());  // config.json gets the SHA-256 of the weights just written

  const auto negatives = eval::load_or_draw_negatives(out.path(), data, cfg.eval.sampled_negatives,
                                                      static_cast<uint64_t>(cfg.eval.sample_seed), /*save=*/true);
  auto test = eval::evaluate_test(run.model, data, cfg.eval.batch_size, negatives);
  TrainedRun trained;
  trained.resumed = result.resumed;
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
  fs::remove_all(opts.checkpoint_dir);
  out.commit();
  trained.dir = out.final_path();
  return trained;
}

}  // namespace ftmamba::experiments
