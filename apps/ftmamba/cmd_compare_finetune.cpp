// defines: `ftmamba compare-finetune`, the fine-tuning scenario: train a base model on one dataset, fine-tune
// it on a shifted one (same schema, e.g. from `generate --drift`) in several variants (full or LoRA, each in
// several precisions), each in its own process, and compare them: metrics after fine-tuning, training
// samples/s, peak memory per sample, trainable parameters, and the distance of each from full fp32
// fine-tuning (the change in HR@10, the embedding cosine distance). Writes finetune.json, finetune.md and a
// figure. Finished runs are reused on a rerun with the same settings.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <filesystem>

#include "cli_device.h"
#include "cli_lists.h"
#include "commands.h"
#include "ftmamba/core/error.h"
#include "ftmamba/core/subprocess.h"
#include "ftmamba/eval/evaluate.h"
#include "ftmamba/experiments/comparison.h"
#include "ftmamba/experiments/finetune_comparison.h"
#include "ftmamba/experiments/finetune_report.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/ops/precision.h"
#include "ftmamba/run/records.h"
#include "ftmamba/run/run.h"
#include "ftmamba/train/finetune.h"
#include "report_info.h"

namespace ftmamba::cli {
namespace fs = std::filesystem;

namespace {

// Runs `argv` (ftmamba's own arguments) into run_dir unless a finished run with the same arguments is there.
// Returns the run's record: {"argv", "peak_rss_mib", "wall_seconds"}.
nlohmann::ordered_json run_or_reuse(const std::vector<std::string>& argv, const fs::path& run_dir, const fs::path& log,
                                    const std::string& what, bool force) {
  const fs::path record_file = run_dir / "compare.json";
  const std::vector<std::string> args(argv.begin() + 1, argv.end());
  if (!force && fs::exists(record_file) && fs::exists(run_dir / "metrics.json")) {
    auto record = experiments::read_json_file(record_file);
    if (record.value("argv", nlohmann::ordered_json::array()) == nlohmann::ordered_json(args)) {
      fmt::print(stderr, "{}: reusing {}\n", what, run_dir.string());
      return record;
    }
  }
  fmt::print(stderr, "{}: training (log {})\n", what, log.string());
  const ChildResult child = run_child(argv, log);
  if (child.exit_code != 0)
    throw Error(fmt::format("{} failed (exit {}); see {}. Finished runs are kept and reused on the next run.", what,
                            child.exit_code, log.string()));
  nlohmann::ordered_json record = {
      {"argv", args}, {"peak_rss_mib", child.max_rss_mib}, {"wall_seconds", child.seconds}};
  io::write_file_atomic(record_file, record.dump(2) + "\n");
  return record;
}

}  // namespace

void add_compare_finetune_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "compare-finetune",
      "Train a base model, fine-tune it on shifted data in several variants (full / LoRA x precision), compare");
  struct Args {
    std::string base_data, data, out, variants, device = "auto", title;
    std::vector<std::string> sets, base_sets;
    int64_t rank = 8;
    double alpha = 16.0;
    bool force = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--base-data", args->base_data, "Dataset the base model trains on")->required();
  cmd->add_option("--data", args->data, "Dataset to fine-tune on (same schema, e.g. generate --drift)")->required();
  cmd->add_option("--out", args->out, "Report folder (runs go to OUT/runs)")->required();
  cmd->add_option("--variants", args->variants,
                  "Comma-separated MODE-PRECISION (full or lora; fp32, bf16, fp16, bf16-pure); full-fp32 is the "
                  "reference and must be among them. Default: full-fp32,full-bf16,lora-fp32,lora-bf16, plus "
                  "full-fp16,lora-fp16 on a GPU");
  cmd->add_option("--set", args->sets, "Config override for the base training and every fine-tuning (repeatable)");
  cmd->add_option("--base-set", args->base_sets, "Config override for the base training only (repeatable)");
  cmd->add_option("--lora.rank", args->rank, "LoRA rank of the lora variants")->capture_default_str();
  cmd->add_option("--lora.alpha", args->alpha, "LoRA alpha of the lora variants")->capture_default_str();
  cmd->add_option("--title", args->title, "Report title");
  add_device_option(cmd, args->device);
  cmd->add_flag("--force", args->force, "Retrain runs that already finished with the same settings");
  cmd->callback([args] {
    const auto start = std::chrono::steady_clock::now();
    const torch::Device device = choose_device(args->device);
    std::string variant_list = args->variants;
    if (variant_list.empty())
      variant_list =
          std::string("full-fp32,full-bf16,lora-fp32,lora-bf16") + (device.is_cuda() ? ",full-fp16,lora-fp16" : "");
    std::vector<train::FinetuneVariant> variants;
    for (const auto& name : split_list(variant_list)) {
      try {
        variants.push_back(train::parse_finetune_variant(name));
      } catch (const Error& e) {
        throw Error(std::string("--variants: ") + e.what());
      }
      ops::check_precision_supported(variants.back().precision, device);
    }
    if (std::none_of(variants.begin(), variants.end(),
                     [](const train::FinetuneVariant& v) { return v.name() == "full-fp32"; }))
      throw Error("--variants must include full-fp32, the reference the others are measured against");

    const fs::path base_data = fs::absolute(args->base_data).lexically_normal();
    const fs::path data_dir = fs::absolute(args->data).lexically_normal();
    const fs::path out = fs::absolute(args->out).lexically_normal();
    if (fs::exists(out) && !fs::is_empty(out) && !fs::exists(out / "runs"))
      throw Error(out.string() + ": exists and is not a fine-tuning comparison; refusing to write into it");
    fs::create_directories(out / "runs");
    fs::create_directories(out / "logs");
    const std::string self = self_executable().string();
    const std::string dev = device.str();

    // The base model.
    const fs::path base_run = out / "runs" / "base";
    std::vector<std::string> argv = {self,      "train",    "--data", base_data.string(), "--out", base_run.string(),
                                     "--quiet", "--device", dev};
    for (const auto& s : args->sets) argv.insert(argv.end(), {"--set", s});
    for (const auto& s : args->base_sets) argv.insert(argv.end(), {"--set", s});
    run_or_reuse(argv, base_run, out / "logs" / "base.log", "base model", args->force);

    // The variants.
    std::map<std::string, nlohmann::ordered_json> records;
    for (size_t i = 0; i < variants.size(); ++i) {
      const train::FinetuneVariant& v = variants[i];
      const fs::path run_dir = out / "runs" / v.name();
      argv = {self,    "finetune",       "--run",       base_run.string(),  "--data",  data_dir.string(),
              "--out", run_dir.string(), "--precision", v.precision_name(), "--quiet", "--device",
              dev};
      if (!v.lora)
        argv.push_back("--full");
      else
        argv.insert(argv.end(),
                    {"--lora.rank", std::to_string(args->rank), "--lora.alpha", fmt::format("{}", args->alpha)});
      for (const auto& s : args->sets) argv.insert(argv.end(), {"--set", s});
      records[v.name()] = run_or_reuse(argv, run_dir, out / "logs" / (v.name() + ".log"),
                                       fmt::format("[{}/{}] {}", i + 1, variants.size(), v.name()), args->force);
    }

    // The base model on the fine-tuning data's test split (full catalog), for the gains.
    const fs::path reference = out / "runs" / "full-fp32";
    double base_hr10 = 0.0;
    {
      auto run = run::Run::load(base_run, device);
      auto data = run::prepare_data(data_dir, run.config, &run.user_encoding, &run.item_encoding);
      const auto negatives = eval::load_or_draw_negatives(reference, data, run.config.eval.sampled_negatives,
                                                          static_cast<uint64_t>(run.config.eval.sample_seed), false);
      base_hr10 = eval::evaluate_test(run.model, data, run.config.eval.batch_size, negatives)["full"]["model"]["HR@10"];
    }
    const auto base_metrics = run::read_metrics(base_run / "metrics.json");
    const double full_hr10 = run::read_metrics(reference / "metrics.json").test_metric("full", "model", "HR@10");

    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    for (const train::FinetuneVariant& v : variants) {
      const fs::path run_dir = out / "runs" / v.name();
      const auto m = run::read_metrics(run_dir / "metrics.json");
      const auto cfg = experiments::read_json_file(run_dir / "config.json");
      const auto& test = m.test["full"]["model"];
      const double hr10 = m.test_metric("full", "model", "HR@10");
      nlohmann::ordered_json row;
      row["name"] = v.name();
      row["mode"] = v.lora ? "lora" : "full";
      row["precision"] = v.precision_name();
      row["run"] = fs::relative(run_dir, out).string();
      row["test"] = test;
      row["train_samples_per_sec"] = m.train_samples_per_sec;
      // Peak memory: the allocator's maximum on a GPU (the process's RSS is mostly the CUDA context there),
      // the process's maximum RSS on the CPU.
      row["peak_memory_mib"] =
          device.is_cuda() ? m.peak_gpu_allocated_mib.value_or(0.0) : records[v.name()]["peak_rss_mib"].get<double>();
      row["memory_measure"] = device.is_cuda() ? "max allocated" : "max RSS";
      row["batch_size"] = cfg["config"]["train"]["batch_size"];
      row["trainable_parameters"] = m.trainable_parameters.value_or(m.parameters);
      row["total_parameters"] = m.parameters;
      row["hr10_minus_full_fp32"] = hr10 - full_hr10;
      row["share_of_full_fp32_gain"] = full_hr10 != base_hr10 ? (hr10 - base_hr10) / (full_hr10 - base_hr10) : 0.0;
      const auto div = v.name() == "full-fp32"
                           ? experiments::EmbeddingDivergence{}
                           : experiments::embedding_divergence(run_dir, reference, data_dir, device);
      row["cosine_distance_to_full_fp32"] = {{"users", div.users}, {"items", div.items}};
      fmt::print(stderr,
                 "{:>14}: HR@10 {:.4f} ({:+.4f} vs full fp32, {:.0f}% of its gain), {:.0f} samples/s, "
                 "{:.0f} MiB peak, {} trainable\n",
                 v.name(), hr10, hr10 - full_hr10, 100.0 * row["share_of_full_fp32_gain"].get<double>(),
                 row["train_samples_per_sec"].get<double>(), row["peak_memory_mib"].get<double>(),
                 row["trainable_parameters"].get<int64_t>());
      rows.push_back(std::move(row));
    }

    nlohmann::ordered_json report;
    report["title"] = args->title.empty()
                          ? "Fine-tuning " + data_dir.filename().string() + " from " + base_data.filename().string()
                          : args->title;
    report["created"] = utc_now();
    std::string command = "ftmamba compare-finetune --base-data " + args->base_data + " --data " + args->data +
                          " --out " + args->out + " --variants " + variant_list + " --device " + dev;
    for (const auto& s : args->sets) command += " --set " + s;
    for (const auto& s : args->base_sets) command += " --base-set " + s;
    report["command"] = command;
    report["machine"] = machine_description(device);
    if (fs::exists(data_dir / "dataset.json")) {
      const auto info = experiments::read_json_file(data_dir / "dataset.json");
      if (info.contains("drift")) report["drift"] = info["drift"];
    }
    report["base"] = {{"run", "runs/base"},
                      {"HR@10_on_base_data", base_metrics.test_metric("full", "model", "HR@10")},
                      {"HR@10_on_finetune_data", base_hr10}};
    report["variants"] = rows;
    report["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    io::write_file_atomic(out / "finetune.json", report.dump(1) + "\n");
    experiments::render_finetune_report(nlohmann::json::parse(report.dump()), out);
    fmt::print("report written to {} (finetune.md, finetune.json, figures/finetune.svg; {:.0f} s)\n", args->out,
               report["seconds"].get<double>());
  });
}

}  // namespace ftmamba::cli
