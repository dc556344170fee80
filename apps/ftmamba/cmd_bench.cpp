// defines: `ftmamba bench` and its `bench scaling`: encoder forward + backward time against the number of feature
// tokens L (experiments/scaling_bench.h). Prints one JSON line per point and writes scaling.json, scaling.md,
// scaling.html and figures/ into --out.
#include <fmt/format.h>

#include <cstdio>

#include "cli_checks.h"
#include "cli_device.h"
#include "cli_lists.h"
#include "commands.h"
#include "ftmamba/experiments/scaling_bench.h"
#include "ftmamba/run/config_limits.h"

namespace ftmamba::cli {

void add_bench_command(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "Benchmarks");
  bench->require_subcommand(1);
  add_bench_finetune_subcommand(bench);
  auto* cmd = bench->add_subcommand(
      "scaling", "Encoder forward+backward time against the number of feature tokens L (log-log slopes)");
  struct Args {
    std::string models = "ft-mamba,ft-transformer";
    std::string lengths = "8,16,32,64,128,256,384,512,768,1024,1536,2048";
    std::string device = "auto";
    experiments::ScalingBenchOptions options;
  };
  auto args = std::make_shared<Args>();
  auto& o = args->options;
  cmd->add_option("--models", args->models, "Comma-separated model types: " + enum_choices<nn::EncoderType>())
      ->capture_default_str();
  cmd->add_option("--lengths", args->lengths, "Comma-separated token counts L (features + [CLS])")
      ->capture_default_str();
  check_int_range(cmd->add_option("--batch", o.batch, "Rows per step")->capture_default_str(), 1,
                  run::limits::kBatchSize.max);
  check_int_range(cmd->add_option("--d-token", o.d_token, "Token width")->capture_default_str(), 1,
                  run::limits::kDToken.max);
  check_int_range(cmd->add_option("--n-layers", o.n_layers, "Layers per encoder")->capture_default_str(), 1,
                  run::limits::kNLayers.max);
  cmd->add_option("--fit-from", o.fit_from, "Fit the slope over L >= this")->capture_default_str();
  check_real_at_least(cmd->add_option("--min-seconds", o.min_seconds, "Time spent per point (at least 3 repetitions)")
                          ->capture_default_str(),
                      0.0);
  check_int_range(cmd->add_option("--threads", o.threads, "CPU threads")->capture_default_str(), 1,
                  run::limits::kThreads.max);
  cmd->add_option("--out", o.out, "Report folder")->capture_default_str();
  add_device_option(cmd, args->device);
  cmd->callback([args] {
    auto o = args->options;
    o.device = choose_device(args->device);
    o.lengths = parse_int_list("--lengths", args->lengths);
    o.models = parse_enum_list<nn::EncoderType>("--models", args->models);
    experiments::run_scaling_bench(o, [](const nlohmann::ordered_json& point) {
      fmt::print("{}\n", point.dump());
      std::fflush(stdout);
    });
    fmt::print(stderr, "scaling report written to {}\n", o.out);
  });
}

}  // namespace ftmamba::cli
