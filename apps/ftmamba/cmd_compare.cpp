// defines: `ftmamba compare`, which trains and evaluates each model with each seed on one dataset (each
// training in its own process, so peak memory is per run), then writes comparison.json and the report
// (report.md, report.html, figures/) into the output folder. Finished runs are reused on a rerun.
#include <fmt/format.h>
#include <fmt/ranges.h>  // fmt::join (moved here in fmt 11)

#include <chrono>
#include <ctime>
#include <filesystem>
#include <sstream>
#include <thread>

#include "cli_device.h"
#include "cli_lists.h"
#include "commands.h"
#include "ftmamba/core/error.h"
#include "ftmamba/core/subprocess.h"
#include "ftmamba/data/dataset.h"
#include "ftmamba/experiments/comparison.h"
#include "ftmamba/experiments/comparison_report.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/nn/encoder.h"
#include "report_info.h"

namespace ftmamba::cli {
namespace fs = std::filesystem;

void add_compare_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "compare", "Train and evaluate several models over several seeds on one dataset and write a report");
  struct Args {
    std::string data, out, models = "ft-mamba,ft-transformer", seeds = "1,2,3", config, title, device = "auto";
    std::vector<std::string> sets;
    int64_t bias_k = 10;
    bool force = false, quiet = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--data", args->data, "Dataset folder")->required();
  cmd->add_option("--out", args->out, "Report folder (runs go to OUT/runs)")->required();
  cmd->add_option("--models", args->models, "Comma-separated model types")->capture_default_str();
  cmd->add_option("--seeds", args->seeds, "Comma-separated training seeds")->capture_default_str();
  cmd->add_option("--config", args->config, "TOML config file for every run")->check(CLI::ExistingFile);
  cmd->add_option("--set", args->sets, "Override a config key for every run: section.key=value (repeatable)");
  cmd->add_option("--bias-k", args->bias_k, "Top-k list length for the popularity-bias figure")->capture_default_str();
  cmd->add_option("--title", args->title, "Report title (default: dataset name and models)");
  add_device_option(cmd, args->device);
  cmd->add_flag("--force", args->force, "Retrain runs that already finished with the same settings");
  cmd->add_flag("--quiet,-q", args->quiet, "Only the summary, no per-epoch lines");
  cmd->callback([args] {
    const auto start = std::chrono::steady_clock::now();
    const torch::Device device = choose_device(args->device);
    std::vector<std::string> models;  // each model's name, as the run folders and the report spell it
    for (const auto type : parse_enum_list<nn::EncoderType>("--models", args->models))
      models.push_back(enum_name(type));
    const std::vector<int64_t> seeds = parse_int_list("--seeds", args->seeds);
    if (args->bias_k < 1) throw Error("--bias-k must be >= 1");

    // The dataset is loaded once here so that bad data fails before any training starts.
    const fs::path data_dir = fs::absolute(args->data).lexically_normal();
    const auto dataset = data::Dataset::load(data_dir);
    std::string preset;
    if (fs::exists(data_dir / "dataset.json")) {
      const auto info = experiments::read_json_file(data_dir / "dataset.json");
      preset = info.value("preset", "");
    }

    const fs::path out = fs::absolute(args->out).lexically_normal();
    if (fs::exists(out) && !fs::is_directory(out)) throw Error(out.string() + ": exists and is not a folder");
    if (fs::exists(out) && !fs::is_empty(out) && !fs::exists(out / "comparison.json") && !fs::exists(out / "runs"))
      throw Error(out.string() + ": exists and is not a comparison report; refusing to write into it");
    fs::create_directories(out / "runs");
    fs::create_directories(out / "logs");

    const fs::path self = self_executable();
    nlohmann::ordered_json runs = nlohmann::ordered_json::array();
    nlohmann::ordered_json references;
    const size_t total = models.size() * seeds.size();
    size_t index = 0;
    for (const auto& model : models) {
      for (const int64_t seed : seeds) {
        ++index;
        const std::string name = fmt::format("{}-seed{}", model, seed);
        const fs::path run_dir = out / "runs" / name, log = out / "logs" / (name + ".log");
        std::vector<std::string> argv = {self.string(), "train", "--data", data_dir.string(),
                                         "--model",     model,   "--out",  run_dir.string()};
        if (!args->config.empty()) argv.insert(argv.end(), {"--config", fs::absolute(args->config).string()});
        for (const auto& s : args->sets) argv.insert(argv.end(), {"--set", s});
        argv.insert(argv.end(), {"--set", fmt::format("train.seed={}", seed)});  // last: the seed always wins
        if (args->quiet) argv.push_back("--quiet");
        argv.insert(argv.end(), {"--device", device.str()});

        // A finished run with the same command is reused (a rerun after an interruption loses nothing).
        nlohmann::ordered_json record;
        const fs::path record_file = run_dir / "compare.json";
        bool reuse = false;
        if (!args->force && fs::exists(record_file) && fs::exists(run_dir / "metrics.json")) {
          record = experiments::read_json_file(record_file);
          auto saved = record.value("argv", nlohmann::ordered_json::array());
          std::vector<std::string> saved_args(saved.begin(), saved.end());
          std::vector<std::string> now_args(argv.begin() + 1, argv.end());
          // Neither the progress output nor the device makes a run different: a finished run is reused
          // whichever device trained it.
          for (auto* list : {&saved_args, &now_args}) {
            std::erase(*list, "--quiet");
            if (auto it = std::find(list->begin(), list->end(), "--device"); it != list->end())
              list->erase(it, std::min(it + 2, list->end()));
          }
          reuse = saved_args == now_args;
        }
        if (reuse) {
          fmt::print(stderr, "[{}/{}] {} seed {}: reusing {}\n", index, total, model, seed, run_dir.string());
        } else {
          fmt::print(stderr, "[{}/{}] {} seed {}: training (log {})\n", index, total, model, seed, log.string());
          const ChildResult child = run_child(argv, log);
          if (child.exit_code != 0)
            throw Error(
                fmt::format("training {} seed {} failed (exit {}); see {}. Finished runs are kept and "
                            "reused on the next compare.",
                            model, seed, child.exit_code, log.string()));
          record = {{"argv", std::vector<std::string>(argv.begin() + 1, argv.end())},
                    {"peak_rss_mib", child.max_rss_mib},
                    {"wall_seconds", child.seconds}};
          io::write_file_atomic(record_file, record.dump(2) + "\n");
        }
        const auto measured = experiments::measure_run(run_dir, args->bias_k, device);
        auto entry = experiments::comparison_run_entry(run_dir, fs::relative(run_dir, out).string(), model, seed,
                                                       record.at("peak_rss_mib").get<double>(), measured);
        fmt::print(
            stderr, "        test HR@10 {:.4f}, {:.0f} train samples/s, {:.0f} encode samples/s, peak {:.0f} MiB\n",
            entry["test"]["full"].value("HR@10", 0.0), entry["efficiency"]["train_samples_per_sec"].get<double>(),
            measured.encode_samples_per_sec, record.at("peak_rss_mib").get<double>());
        if (references.is_null()) references = experiments::reference_rows(run_dir);
        runs.push_back(std::move(entry));
      }
    }

    std::string command = "ftmamba compare --data " + args->data + " --models " + args->models + " --seeds " +
                          args->seeds + " --out " + args->out;
    if (!args->config.empty()) command += " --config " + args->config;
    for (const auto& s : args->sets) command += " --set " + s;
    command += " --device " + device.str();
    nlohmann::ordered_json report;
    const std::string data_name = data_dir.filename().string();
    report["title"] = args->title.empty() ? fmt::format("{}: {}", data_name, fmt::join(models, " vs ")) : args->title;
    report["created"] = utc_now();
    report["command"] = command;
    report["machine"] = machine_description(device);
    report["dataset"] = {{"dir", args->data},
                         {"preset", preset.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(preset)},
                         {"users", dataset.users.size()},
                         {"items", dataset.items.size()},
                         {"interactions", dataset.interactions.size()}};
    report["models"] = models;
    report["seeds"] = seeds;
    report["ks"] = {1, 5, 10};
    report["runs"] = runs;
    report["references"] = references;
    report["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    io::write_file_atomic(out / "comparison.json", report.dump(1) + "\n");
    experiments::render_comparison_report(nlohmann::json::parse(report.dump()), out);
    fmt::print("report written to {} (report.html, report.md, figures/; {} runs, {:.0f} s)\n", args->out, runs.size(),
               report["seconds"].get<double>());
  });
}

}  // namespace ftmamba::cli
