// defines: `ftmamba bench scaling`: encoder forward + backward time against the number of feature tokens
// L on a wide synthetic table, for FT-Mamba and FT-Transformer, with fitted log-log slopes. Prints one
// JSON line per point and writes scaling.json, scaling.md, scaling.html and figures/ into --out.
#include <fmt/format.h>
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_device.h"
#include "cli_lists.h"
#include "commands.h"
#include "ftmamba/core/cpu_time.h"
#include "ftmamba/core/error.h"
#include "ftmamba/core/threads.h"
#include "ftmamba/experiments/scaling_report.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/nn/encoder.h"
#include "ftmamba/report/loglog_fit.h"

namespace ftmamba::cli {
namespace fs = std::filesystem;

namespace {

// With one thread every op (backward included) runs on our thread, so process CPU time is the step's cost.
struct Timing {
  double forward_ms, backward_ms;  // process CPU time
  double wall_ms;                  // forward + backward, wall clock
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Times one training-mode forward and backward of an encoder over `length` tokens: length - 1 numerical
// features plus [CLS]. Median over repetitions after one untimed warm-up pass. On a GPU the forward and
// backward times are wall clock up to a device synchronisation (process CPU time says nothing there).
Timing time_encoder(const nn::EncoderConfig& cfg, int64_t batch, int64_t length, double min_seconds,
                    torch::Device device) {
  torch::manual_seed(0);
  auto enc = nn::make_encoder(cfg, {length - 1, 0, 0});
  enc->to(device);
  enc->train();
  const auto on = torch::TensorOptions().device(device);
  auto num = torch::randn({batch, length - 1}, on);
  auto miss = torch::zeros({batch, length - 1}, on);
  auto cat = torch::zeros({batch, 0}, on.dtype(torch::kInt64));
  auto weights = torch::randn({batch, enc->embedding_dim()}, on);
  const bool gpu = device.is_cuda();
  // Milliseconds on the clock that measures this device: process CPU time, or synchronised wall time.
  const auto now_ms = [gpu] {
    if (!gpu) return process_cpu_ms();
    torch::cuda::synchronize();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
  };
  using clock = std::chrono::steady_clock;
  std::vector<double> fwd, bwd, wall;
  const auto start = clock::now();
  for (int rep = 0; rep < 64; ++rep) {
    const auto w0 = clock::now();
    const double c0 = now_ms();
    auto loss = (enc->forward(num, miss, cat) * weights).sum();
    const double c1 = now_ms();
    loss.backward();
    const double c2 = now_ms();
    const auto w2 = clock::now();
    for (auto& p : enc->parameters()) p.mutable_grad() = torch::Tensor();
    if (rep == 0) continue;  // warm-up: first-touch memory, allocator growth
    fwd.push_back(c1 - c0);
    bwd.push_back(c2 - c1);
    wall.push_back(std::chrono::duration<double, std::milli>(w2 - w0).count());
    if (fwd.size() >= 3 && std::chrono::duration<double>(clock::now() - start).count() > min_seconds) break;
  }
  return {median(fwd), median(bwd), median(wall)};
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "Benchmarks");
  bench->require_subcommand(1);
  add_bench_finetune_subcommand(bench);
  auto* cmd = bench->add_subcommand(
      "scaling", "Encoder forward+backward time against the number of feature tokens L (log-log slopes)");
  struct Args {
    std::string models = "ft-mamba,ft-transformer";
    std::string lengths = "8,16,32,64,128,256,384,512,768,1024,1536,2048";
    std::string out = "reports/scaling";
    std::string device = "auto";
    int64_t batch = 4, d_token = 64, n_layers = 2, threads = 1, fit_from = 512;
    double min_seconds = 1.0;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--models", args->models, "Comma-separated model types")->capture_default_str();
  cmd->add_option("--lengths", args->lengths, "Comma-separated token counts L (features + [CLS])")
      ->capture_default_str();
  cmd->add_option("--batch", args->batch, "Rows per step")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--d-token", args->d_token, "Token width")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--n-layers", args->n_layers, "Layers per encoder")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--fit-from", args->fit_from, "Fit the slope over L >= this")->capture_default_str();
  cmd->add_option("--min-seconds", args->min_seconds, "Time spent per point (at least 3 repetitions)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--threads", args->threads, "CPU threads")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--out", args->out, "Report folder")->capture_default_str();
  add_device_option(cmd, args->device);
  cmd->callback([args] {
    set_cpu_threads(static_cast<int>(args->threads));
    const torch::Device device = choose_device(args->device);
    // Attention at L = 2048 frees and reallocates gigabytes per step; keep them resident so every step
    // does not pay first-touch page faults again (see docs/DESIGN-NOTES.md, "Memory stays resident").
    mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
    const std::vector<int64_t> lengths = parse_int_list("--lengths", args->lengths);
    for (const int64_t l : lengths)
      if (l < 2) throw Error("--lengths: every L must be >= 2 (one feature plus [CLS])");
    const auto models = parse_enum_list<nn::EncoderType>("--models", args->models);
    nlohmann::ordered_json points = nlohmann::ordered_json::array(), fits = nlohmann::ordered_json::object();
    for (const auto& model : models) {
      nn::EncoderConfig cfg;
      cfg.type = model;
      cfg.d_token = args->d_token;
      cfg.embed_dim = args->d_token;
      cfg.n_layers = args->n_layers;
      std::vector<double> xs, ys;
      for (const int64_t l : lengths) {
        const Timing t = time_encoder(cfg, args->batch, l, args->min_seconds, device);
        nlohmann::ordered_json p = {{"bench", "scaling"},
                                    {"model", enum_name(model)},
                                    {"L", l},
                                    {"batch", args->batch},
                                    {"forward_ms", t.forward_ms},
                                    {"backward_ms", t.backward_ms},
                                    {"total_ms", t.forward_ms + t.backward_ms},
                                    {"wall_ms", t.wall_ms}};
        fmt::print("{}\n", p.dump());
        std::fflush(stdout);
        points.push_back(p);
        if (l >= args->fit_from) {
          xs.push_back(static_cast<double>(l));
          ys.push_back(t.forward_ms + t.backward_ms);
        }
      }
      if (xs.size() >= 2)
        fits[enum_name(model)] = {{"slope", report::fit_loglog_slope(xs, ys)}, {"slope_from_L", args->fit_from}};
    }
    nlohmann::ordered_json j;
    const std::string timer = device.is_cuda() ? "GPU wall time" : "process CPU time";
    j["title"] = "Encoder cost against the number of feature tokens (" + timer + ", ms)";
    j["timer"] = timer + " per training step (forward + backward), median; wall_ms beside it";
    j["command"] = fmt::format(
        "ftmamba bench scaling --models {} --lengths {} --batch {} --d-token {} --n-layers {} --fit-from {} "
        "--min-seconds {} --threads {} --device {}",
        args->models, args->lengths, args->batch, args->d_token, args->n_layers, args->fit_from, args->min_seconds,
        args->threads, device.str());
    j["machine"] =
        device.is_cuda() ? "GPU " + describe_device(device) : "CPU, " + std::to_string(args->threads) + " thread(s)";
    j["batch"] = args->batch;
    j["d_token"] = args->d_token;
    j["n_layers"] = args->n_layers;
    j["points"] = points;
    j["fits"] = fits;
    const fs::path out(args->out);
    fs::create_directories(out);
    io::write_file_atomic(out / "scaling.json", j.dump(1) + "\n");
    for (const auto& [model, f] : fits.items())
      fmt::print(stderr, "{}: fitted slope {:.3f} over L >= {}\n", model, f["slope"].get<double>(), args->fit_from);
    experiments::render_scaling_report(nlohmann::json::parse(j.dump()), out);
    fmt::print(stderr, "scaling report written to {}\n", out.string());
  });
}

}  // namespace ftmamba::cli
