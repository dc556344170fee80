// defines: run_compare_finetune and default_finetune_variants (see compare_finetune.h).
#include "ftmamba/experiments/compare_finetune.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "ftmamba/core/error.h"
#include "ftmamba/core/provenance.h"
#include "ftmamba/core/subprocess.h"
#include "ftmamba/core/timer.h"
#include "ftmamba/eval/evaluate.h"
#include "ftmamba/experiments/comparison.h"
#include "ftmamba/experiments/finetune_comparison.h"
#include "ftmamba/experiments/finetune_report.h"
#include "ftmamba/experiments/run_cache.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/ops/precision.h"
#include "ftmamba/run/records.h"
#include "ftmamba/run/run.h"

namespace ftmamba::experiments {
namespace fs = std::filesystem;

namespace {

// The base model's HR@10 on the fine-tuning data's test split (full catalog), with the reference run's sampled
// negatives, for the gains.
double base_hr10_on(const fs::path& base_run, const fs::path& data_dir, const fs::path& reference,
                    torch::Device device) {
  auto run = run::Run::load(base_run, device);
  auto data = run::prepare_data(data_dir, run.config, &run.user_encoding, &run.item_encoding);
  const auto negatives = eval::load_or_draw_negatives(reference, data, run.config.eval.sampled_negatives,
                                                      static_cast<uint64_t>(run.config.eval.sample_seed), false);
  return eval::evaluate_test(run.model, data, run.config.eval.batch_size, negatives)["full"]["model"]["HR@10"]
      .get<double>();
}

std::string command_line(const CompareFinetuneOptions& o, const std::vector<std::string>& variant_names) {
  std::string command =
      fmt::format("ftmamba compare-finetune --base-data {} --data {} --out {} --variants {} --device {}", o.base_data,
                  o.data, o.out, fmt::join(variant_names, ","), o.device.str());
  for (const auto& s : o.sets) command += " --set " + s;
  for (const auto& s : o.base_sets) command += " --base-set " + s;
  return command;
}

}  // namespace

std::vector<train::FinetuneVariant> default_finetune_variants(torch::Device device) {
  std::vector<train::FinetuneVariant> out;
  for (const bool lora : {false, true})
    for (const auto precision : {ops::Precision::kFp32, ops::Precision::kBf16}) out.push_back({lora, precision});
  if (device.is_cuda())
    for (const bool lora : {false, true}) out.push_back({lora, ops::Precision::kFp16});
  return out;
}

CompareFinetuneResult run_compare_finetune(const CompareFinetuneOptions& o, const Log& log) {
  const Stopwatch watch;
  const torch::Device device = o.device;
  const auto variants = o.variants.empty() ? default_finetune_variants(device) : o.variants;
  std::vector<std::string> variant_names;
  for (const auto& v : variants) {
    ops::check_precision_supported(v.precision, device);
    variant_names.push_back(v.name());
  }
  if (std::find(variant_names.begin(), variant_names.end(), "full-fp32") == variant_names.end())
    throw Error("--variants must include full-fp32, the reference the others are measured against");

  const fs::path base_data = fs::absolute(o.base_data).lexically_normal();
  const fs::path data_dir = fs::absolute(o.data).lexically_normal();
  const fs::path out = fs::absolute(o.out).lexically_normal();
  if (fs::exists(out) && !fs::is_empty(out) && !fs::exists(out / "runs"))
    throw Error(out.string() + ": exists and is not a fine-tuning comparison; refusing to write into it");
  fs::create_directories(out / "runs");
  fs::create_directories(out / "logs");
  const std::string dev = device.str();
  // The device makes a run different here: each row's peak memory is read the way this device measures it.
  const RunCache cache(
      {.program = self_executable(), .device = DeviceMatters::kYes, .force = o.force, .next_time = "the next run"},
      log);

  // The base model.
  const fs::path base_run = out / "runs" / "base";
  std::vector<std::string> argv = {"train",           "--data",  base_data.string(), "--out",
                                   base_run.string(), "--quiet", "--device",         dev};
  for (const auto& s : o.sets) argv.insert(argv.end(), {"--set", s});
  for (const auto& s : o.base_sets) argv.insert(argv.end(), {"--set", s});
  if (o.threads) argv.insert(argv.end(), {"--threads", std::to_string(*o.threads)});
  cache.run({.argv = argv,
             .run_dir = base_run,
             .log = out / "logs" / "base.log",
             .label = "base model",
             .failure = "base model"});

  // The variants.
  std::map<std::string, RunRecord> records;
  for (size_t i = 0; i < variants.size(); ++i) {
    const train::FinetuneVariant& v = variants[i];
    const fs::path run_dir = out / "runs" / v.name();
    argv = {"finetune",       "--run",       base_run.string(),  "--data",  data_dir.string(), "--out",
            run_dir.string(), "--precision", v.precision_name(), "--quiet", "--device",        dev};
    if (!v.lora)
      argv.push_back("--full");
    else
      argv.insert(argv.end(),
                  {"--lora.rank", std::to_string(o.lora_rank), "--lora.alpha", fmt::format("{}", o.lora_alpha)});
    for (const auto& s : o.sets) argv.insert(argv.end(), {"--set", s});
    if (o.threads) argv.insert(argv.end(), {"--threads", std::to_string(*o.threads)});
    const std::string what = fmt::format("[{}/{}] {}", i + 1, variants.size(), v.name());
    records[v.name()] = cache.run(
        {.argv = argv, .run_dir = run_dir, .log = out / "logs" / (v.name() + ".log"), .label = what, .failure = what});
  }

  const fs::path reference = out / "runs" / "full-fp32";
  const double base_hr10 = base_hr10_on(base_run, data_dir, reference, device);
  const auto base_metrics = run::read_metrics(base_run / "metrics.json");
  const double full_hr10 = run::read_metrics(reference / "metrics.json").test_metric("full", "model", "HR@10");

  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const train::FinetuneVariant& v : variants) {
    const fs::path run_dir = out / "runs" / v.name();
    const auto m = run::read_metrics(run_dir / "metrics.json");
    const auto cfg = read_json_file(run_dir / "config.json");
    const double hr10 = m.test_metric("full", "model", "HR@10");
    nlohmann::ordered_json row;
    row["name"] = v.name();
    row["mode"] = v.lora ? "lora" : "full";
    row["precision"] = v.precision_name();
    row["run"] = fs::relative(run_dir, out).string();
    row["test"] = m.test["full"]["model"];
    row["train_samples_per_sec"] = m.train_samples_per_sec;
    // Peak memory: the allocator's maximum on a GPU (the process's RSS is mostly the CUDA context there), the
    // process's maximum RSS on the CPU.
    row["peak_memory_mib"] = device.is_cuda() ? m.peak_gpu_allocated_mib.value_or(0.0) : records[v.name()].peak_rss_mib;
    row["memory_measure"] = device.is_cuda() ? "max allocated" : "max RSS";
    row["batch_size"] = cfg["config"]["train"]["batch_size"];
    row["trainable_parameters"] = m.trainable_parameters.value_or(m.parameters);
    row["total_parameters"] = m.parameters;
    row["hr10_minus_full_fp32"] = hr10 - full_hr10;
    row["share_of_full_fp32_gain"] = full_hr10 != base_hr10 ? (hr10 - base_hr10) / (full_hr10 - base_hr10) : 0.0;
    const auto div =
        v.name() == "full-fp32" ? EmbeddingDivergence{} : embedding_divergence(run_dir, reference, data_dir, device);
    row["cosine_distance_to_full_fp32"] = {{"users", div.users}, {"items", div.items}};
    log(
        fmt::format("{:>14}: HR@10 {:.4f} ({:+.4f} vs full fp32, {:.0f}% of its gain), {:.0f} samples/s, "
                    "{:.0f} MiB peak, {} trainable",
                    v.name(), hr10, hr10 - full_hr10, 100.0 * row["share_of_full_fp32_gain"].get<double>(),
                    row["train_samples_per_sec"].get<double>(), row["peak_memory_mib"].get<double>(),
                    row["trainable_parameters"].get<int64_t>()));
    rows.push_back(std::move(row));
  }

  nlohmann::ordered_json report;
  report["title"] = o.title.empty()
                        ? "Fine-tuning " + data_dir.filename().string() + " from " + base_data.filename().string()
                        : o.title;
  report["created"] = utc_now();
  report["command"] = command_line(o, variant_names);
  report["machine"] = machine_description(device);
  if (fs::exists(data_dir / "dataset.json")) {
    const auto info = read_json_file(data_dir / "dataset.json");
    if (info.contains("drift")) report["drift"] = info["drift"];
  }
  report["base"] = {{"run", "runs/base"},
                    {"HR@10_on_base_data", base_metrics.test_metric("full", "model", "HR@10")},
                    {"HR@10_on_finetune_data", base_hr10}};
  report["variants"] = rows;
  const double seconds = watch.seconds();
  report["seconds"] = seconds;
  io::write_file_atomic(out / "finetune.json", report.dump(1) + "\n");
  render_finetune_report(nlohmann::json::parse(report.dump()), out);
  return {seconds};
}

}  // namespace ftmamba::experiments
