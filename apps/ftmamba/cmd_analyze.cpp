// defines: `ftmamba analyze stability`, the stability analysis of a trained FT-Mamba run on real inputs
// (eval/run_stability.h): prints each layer's Lyapunov exponents, the output's response to input perturbations
// and the deviation of low-precision forward passes; writes stability.json, stability.md and a figure.
#include <fmt/format.h>

#include "cli_device.h"
#include "cli_threads.h"
#include "commands.h"
#include "ftmamba/eval/run_stability.h"

namespace ftmamba::cli {

void add_analyze_command(CLI::App& app) {
  auto* analyze = app.add_subcommand("analyze", "Analyses of a trained run");
  analyze->require_subcommand(1);
  auto* cmd = analyze->add_subcommand(
      "stability", "Lyapunov exponents of the Mamba layers, response to input perturbations, precision deviation");
  struct Args {
    std::string device = "auto";
    eval::RunStabilityOptions options;
    std::optional<int64_t> threads;
  };
  auto args = std::make_shared<Args>();
  auto& o = args->options;
  cmd->add_option("--run", o.run, "Run folder (FT-Mamba towers)")->required();
  cmd->add_option("--data", o.data, "Dataset whose rows are the inputs (default: the run's)");
  cmd->add_option("--out", o.out, "Report folder (default: RUN/stability)");
  cmd->add_option("--rows", o.rows, "Users and items analysed (the first ROWS of each table)")->capture_default_str();
  cmd->add_option("--seed", o.seed, "Seed of the perturbation directions")->capture_default_str();
  add_device_option(cmd, args->device);
  add_threads_option(cmd, args->threads, "LibTorch's default");
  cmd->callback([args] {
    apply_threads(args->threads);
    auto o = args->options;
    o.device = choose_device(args->device);
    const auto result = eval::analyze_run_stability(o, [](const std::string& side, const nlohmann::ordered_json& t) {
      for (const auto& l : t["layers"])
        fmt::print("{} layer {}: lambda_max {:.4f} per step (tangent), {:.4f} (exact); dt mean {:.3g}\n", side,
                   l["layer"].get<int64_t>(), l["lyapunov_tangent"]["max"].get<double>(),
                   l["lyapunov_exact"]["max"].get<double>(), l["dt"]["mean"].get<double>());
      for (const auto& r : t["perturbation"])
        fmt::print("{} eps {:.0e}: embedding deviation {:.3e} (x{:.3f} eps)\n", side, r["eps"].get<double>(),
                   r["output_rel_dev"].get<double>(), r["ratio"].get<double>());
      for (const auto& r : t["precision"])
        fmt::print("{} {}: embedding deviation from fp32 {:.3e}\n", side, r["precision"].get<std::string>(),
                   r["output_rel_dev"].get<double>());
    });
    fmt::print("report written to {} (stability.json, stability.md, figures/stability.svg)\n", result.out.string());
  });
}

}  // namespace ftmamba::cli
