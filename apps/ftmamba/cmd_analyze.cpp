// defines: `ftmamba analyze stability`, the stability analysis of a trained FT-Mamba run on real inputs
// (eval/stability.h): Lyapunov exponents of each layer's state recurrence, the output's response to input
// perturbations, and the deviation of low-precision forward passes. Writes stability.json, stability.md and
// a figure.
#include <fmt/format.h>

#include <filesystem>

#include "cli_device.h"
#include "commands.h"
#include "ftmamba/core/error.h"
#include "ftmamba/eval/stability.h"
#include "ftmamba/eval/stability_report.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/run/run.h"
#include "report_info.h"

namespace ftmamba::cli {
namespace fs = std::filesystem;

void add_analyze_command(CLI::App& app) {
  auto* analyze = app.add_subcommand("analyze", "Analyses of a trained run");
  analyze->require_subcommand(1);
  auto* cmd = analyze->add_subcommand(
      "stability", "Lyapunov exponents of the Mamba layers, response to input perturbations, precision deviation");
  struct Args {
    std::string run, data, out, device = "auto";
    int64_t rows = 1024;
    uint64_t seed = 0;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--run", args->run, "Run folder (FT-Mamba towers)")->required();
  cmd->add_option("--data", args->data, "Dataset whose rows are the inputs (default: the run's)");
  cmd->add_option("--out", args->out, "Report folder (default: RUN/stability)");
  cmd->add_option("--rows", args->rows, "Users and items analysed (the first ROWS of each table)")
      ->capture_default_str();
  cmd->add_option("--seed", args->seed, "Seed of the perturbation directions")->capture_default_str();
  add_device_option(cmd, args->device);
  cmd->callback([args] {
    if (args->rows < 1) throw Error("--rows must be >= 1");
    const torch::Device device = choose_device(args->device);
    auto run = run::Run::load(args->run, device);
    const fs::path data_dir = args->data.empty() ? run.data_dir : fs::path(args->data);
    auto data = run::prepare_data(data_dir, run.config, &run.user_encoding, &run.item_encoding);
    eval::StabilityOptions options;
    options.seed = args->seed;

    nlohmann::ordered_json report;
    report["run"] = args->run;
    report["data"] = data_dir.string();
    report["rows"] = args->rows;
    report["created"] = utc_now();
    report["machine"] = machine_description(device);
    report["definitions"] = {
        {"lyapunov",
         "per step, natural log: lim (1/L) log(|dh_L| / |dh_0|) for the recurrence dh_t = exp(dt_t A) dh_{t-1}"},
        {"lyapunov_exact", "max over (row, d, n) of mean_t dt[t, d] A[d, n]: exact for the diagonal recurrence"},
        {"output_rel_dev",
         "|f(x + eps v) - f(x)| / |f(x)| over the rows, v a random direction with |v_row| = |x_row|, float64"},
        {"precision", "autocast forward against fp32: relative deviation of each layer's output and of the embedding"}};
    bool any = false;
    for (const char* side : {"user", "item"}) {
      auto& tower = side == std::string("user") ? *run.model->user_tower : *run.model->item_tower;
      if (run.config.tower(side).type != nn::EncoderType::kFtMamba) {
        fmt::print(stderr, "{} tower: {}, no state recurrence; skipped\n", side,
                   enum_name(run.config.tower(side).type));
        continue;
      }
      const auto& all = side == std::string("user") ? data.users : data.items;
      const auto inputs = all.index_select(torch::arange(std::min(args->rows, all.size()))).to(device);
      fmt::print(stderr, "{} tower: analysing {} rows...\n", side, inputs.size());
      const auto t = eval::analyze_tower_stability(tower, inputs, options);
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
      report["towers"][side] = t;
      any = true;
    }
    if (!any) throw Error(args->run + ": neither tower is FT-Mamba; nothing to analyse");
    const fs::path out = args->out.empty() ? fs::path(args->run) / "stability" : fs::path(args->out);
    fs::create_directories(out);
    io::write_file_atomic(out / "stability.json", report.dump(2) + "\n");
    eval::render_stability_report(nlohmann::json::parse(report.dump()), out);
    fmt::print("report written to {} (stability.json, stability.md, figures/stability.svg)\n", out.string());
  });
}

}  // namespace ftmamba::cli
