// defines: run_compare (see compare.h).
#include "ftmamba/experiments/compare.h"

#include <fmt/format.h>
#include <fmt/ranges.h>  // fmt::join (moved here in fmt 11)

#include <filesystem>

#include "ftmamba/core/enum_text.h"
#include "ftmamba/core/error.h"
#include "ftmamba/core/provenance.h"
#include "ftmamba/core/subprocess.h"
#include "ftmamba/core/timer.h"
#include "ftmamba/data/dataset.h"
#include "ftmamba/experiments/comparison.h"
#include "ftmamba/experiments/comparison_input.h"
#include "ftmamba/experiments/comparison_popularity_check.h"
#include "ftmamba/experiments/comparison_report.h"
#include "ftmamba/experiments/run_cache.h"
#include "ftmamba/io/atomic_file.h"

namespace ftmamba::experiments {
namespace fs = std::filesystem;

namespace {

// The `ftmamba train` arguments of one run. The seed override comes last, so that it always wins.
std::vector<std::string> train_arguments(const CompareOptions& o, const fs::path& data_dir, const std::string& model,
                                         int64_t seed, const fs::path& run_dir) {
  std::vector<std::string> argv = {"train", "--data", data_dir.string(), "--model", model, "--out", run_dir.string()};
  if (!o.config.empty()) argv.insert(argv.end(), {"--config", fs::absolute(o.config).string()});
  for (const auto& s : o.sets) argv.insert(argv.end(), {"--set", s});
  argv.insert(argv.end(), {"--set", fmt::format("train.seed={}", seed)});
  if (o.quiet) argv.push_back("--quiet");
  argv.insert(argv.end(), {"--device", o.device.str()});
  if (o.threads) argv.insert(argv.end(), {"--threads", std::to_string(*o.threads)});
  return argv;
}

// The command line comparison.json records.
std::string command_line(const CompareOptions& o, const std::vector<std::string>& models) {
  std::string command = fmt::format("ftmamba compare --data {} --models {} --seeds {} --out {}", o.data,
                                    fmt::join(models, ","), fmt::join(o.seeds, ","), o.out);
  if (!o.config.empty()) command += " --config " + o.config;
  for (const auto& s : o.sets) command += " --set " + s;
  if (o.threads) command += fmt::format(" --threads {}", *o.threads);
  return command + " --device " + o.device.str();
}

}  // namespace

CompareResult run_compare(const CompareOptions& o, const Log& log) {
  const Stopwatch watch;
  if (o.models.empty() || o.seeds.empty()) throw Error("compare: no models or no seeds");
  if (o.bias_k < 1) throw Error("--bias-k must be >= 1");
  std::vector<std::string> models;  // each model's name, as the run folders and the report spell it
  for (const auto type : o.models) models.push_back(enum_name(type));

  // The dataset is loaded once here so that bad data fails before any training starts.
  const fs::path data_dir = fs::absolute(o.data).lexically_normal();
  const auto dataset = data::Dataset::load(data_dir);
  std::string preset;
  if (fs::exists(data_dir / "dataset.json")) preset = read_json_file(data_dir / "dataset.json").value("preset", "");

  const fs::path out = fs::absolute(o.out).lexically_normal();
  if (fs::exists(out) && !fs::is_directory(out)) throw Error(out.string() + ": exists and is not a folder");
  if (fs::exists(out) && !fs::is_empty(out) && !fs::exists(out / "comparison.json") && !fs::exists(out / "runs"))
    throw Error(out.string() + ": exists and is not a comparison report; refusing to write into it");
  fs::create_directories(out / "runs");
  fs::create_directories(out / "logs");

  // Neither the progress output nor the device makes a run different: a finished run is reused whichever
  // device trained it.
  const RunCache cache(
      {.program = self_executable(), .device = DeviceMatters::kNo, .force = o.force, .next_time = "the next compare"},
      log);
  nlohmann::ordered_json runs = nlohmann::ordered_json::array();
  nlohmann::ordered_json references;
  const size_t total = models.size() * o.seeds.size();
  size_t index = 0;
  for (const auto& model : models) {
    for (const int64_t seed : o.seeds) {
      ++index;
      const std::string name = fmt::format("{}-seed{}", model, seed);
      const fs::path run_dir = out / "runs" / name;
      const RunRecord record = cache.run({.argv = train_arguments(o, data_dir, model, seed, run_dir),
                                          .run_dir = run_dir,
                                          .log = out / "logs" / (name + ".log"),
                                          .label = fmt::format("[{}/{}] {} seed {}", index, total, model, seed),
                                          .failure = fmt::format("training {} seed {}", model, seed)});
      const auto measured = measure_run(run_dir, o.bias_k, o.device);
      auto entry = comparison_run_entry(run_dir, fs::relative(run_dir, out).string(), model, seed, record.peak_rss_mib,
                                        measured);
      log(fmt::format("        test HR@10 {:.4f}, {:.0f} train samples/s, {:.0f} encode samples/s, peak {:.0f} MiB",
                      entry["test"]["full"].value("HR@10", 0.0),
                      entry["efficiency"]["train_samples_per_sec"].get<double>(), measured.encode_samples_per_sec,
                      record.peak_rss_mib));
      if (references.is_null()) references = reference_rows(run_dir);
      runs.push_back(std::move(entry));
    }
  }

  nlohmann::ordered_json report;
  const std::string data_name = data_dir.filename().string();
  report["title"] = o.title.empty() ? fmt::format("{}: {}", data_name, fmt::join(models, " vs ")) : o.title;
  report["created"] = utc_now();
  report["command"] = command_line(o, models);
  report["machine"] = machine_description(o.device);
  report["dataset"] = {{"dir", o.data},
                       {"preset", preset.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(preset)},
                       {"users", dataset.users.size()},
                       {"items", dataset.items.size()},
                       {"interactions", dataset.interactions.size()}};
  report["models"] = models;
  report["seeds"] = o.seeds;
  report["ks"] = {1, 5, 10};
  report["runs"] = runs;
  report["references"] = references;
  const double seconds = watch.seconds();
  report["seconds"] = seconds;
  io::write_file_atomic(out / "comparison.json", report.dump(1) + "\n");
  const auto comparison = nlohmann::json::parse(report.dump());
  render_comparison_report(comparison, out);
  return {runs.size(), seconds, comparison_popularity_warnings(read_comparison_input(comparison))};
}

}  // namespace ftmamba::experiments
