// defines: run_scaling_bench (see scaling_bench.h).
#include "ftmamba/experiments/scaling_bench.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <malloc.h>

#include <algorithm>
#include <filesystem>
#include <limits>

#include "ftmamba/core/device.h"
#include "ftmamba/core/enum_text.h"
#include "ftmamba/core/error.h"
#include "ftmamba/core/threads.h"
#include "ftmamba/core/timer.h"
#include "ftmamba/experiments/scaling_report.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/report/loglog_fit.h"

namespace ftmamba::experiments {
namespace fs = std::filesystem;

namespace {

struct Timing {
  double forward_ms, backward_ms;  // on the clock that measures the device (see time_encoder)
  double wall_ms;                  // forward + backward, wall clock
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Times one training-mode forward and backward of an encoder over `length` tokens: length - 1 numerical
// features plus [CLS]. Median over repetitions after one untimed warm-up pass. On the CPU the forward and
// backward times are process CPU time: with one thread every op (backward included) runs on our thread, so
// that is the step's cost. On a GPU they are wall time up to a device synchronisation (CPU time says nothing
// there).
Timing time_encoder(const nn::EncoderConfig& cfg, int64_t batch, int64_t length, double min_seconds,
                    torch::Device device) {
  torch::manual_seed(0);
  auto enc = nn::make_encoder(cfg, {length - 1, 0, 0, {}});
  enc->to(device);
  enc->train();
  const auto on = torch::TensorOptions().device(device);
  auto num = torch::randn({batch, length - 1}, on);                // (batch, L - 1)
  auto miss = torch::zeros({batch, length - 1}, on);               // (batch, L - 1)
  auto cat = torch::zeros({batch, 0}, on.dtype(torch::kInt64));    // (batch, 0)
  auto weights = torch::randn({batch, enc->embedding_dim()}, on);  // (batch, E)
  const auto device_ms = [gpu = device.is_cuda()](const Stopwatch::Lap& lap) { return gpu ? lap.wall_ms : lap.cpu_ms; };
  std::vector<double> fwd, bwd, wall;
  const Stopwatch total;
  for (int rep = 0; rep < 64; ++rep) {
    Stopwatch step(device);
    auto loss = (enc->forward(num, miss, cat) * weights).sum();
    const Stopwatch::Lap forward = step.lap();
    loss.backward();
    const Stopwatch::Lap backward = step.lap();
    for (auto& p : enc->parameters()) p.mutable_grad() = torch::Tensor();
    if (rep == 0) continue;  // warm-up: first-touch memory, allocator growth
    fwd.push_back(device_ms(forward));
    bwd.push_back(device_ms(backward));
    wall.push_back(forward.wall_ms + backward.wall_ms);
    if (fwd.size() >= 3 && total.seconds() > min_seconds) break;
  }
  return {median(fwd), median(bwd), median(wall)};
}

}  // namespace

nlohmann::ordered_json run_scaling_bench(const ScalingBenchOptions& o, const ScalingPointSink& on_point,
                                         const Log& log) {
  for (const int64_t l : o.lengths)
    if (l < 2) throw Error("--lengths: every L must be >= 2 (one feature plus [CLS])");
  if (o.models.empty() || o.lengths.empty()) throw Error("bench scaling: no models or no lengths");
  set_cpu_threads(static_cast<int>(o.threads));
  // Attention at L = 2048 frees and reallocates gigabytes per step; keep them resident so every step
  // does not pay first-touch page faults again (see docs/DESIGN-NOTES.md, "Memory stays resident").
  mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
  nlohmann::ordered_json points = nlohmann::ordered_json::array(), fits = nlohmann::ordered_json::object();
  for (const auto& model : o.models) {
    nn::EncoderConfig cfg;
    cfg.type = model;
    cfg.d_token = o.d_token;
    cfg.embed_dim = o.d_token;
    cfg.n_layers = o.n_layers;
    std::vector<double> xs, ys;
    for (const int64_t l : o.lengths) {
      const Timing t = time_encoder(cfg, o.batch, l, o.min_seconds, o.device);
      nlohmann::ordered_json p = {{"bench", "scaling"},
                                  {"model", enum_name(model)},
                                  {"L", l},
                                  {"batch", o.batch},
                                  {"forward_ms", t.forward_ms},
                                  {"backward_ms", t.backward_ms},
                                  {"total_ms", t.forward_ms + t.backward_ms},
                                  {"wall_ms", t.wall_ms}};
      on_point(p);
      points.push_back(p);
      if (l >= o.fit_from) {
        xs.push_back(static_cast<double>(l));
        ys.push_back(t.forward_ms + t.backward_ms);
      }
    }
    if (xs.size() >= 2)
      fits[enum_name(model)] = {{"slope", report::fit_loglog_slope(xs, ys)}, {"slope_from_L", o.fit_from}};
  }
  std::vector<std::string> model_names;
  for (const auto model : o.models) model_names.push_back(enum_name(model));
  nlohmann::ordered_json j;
  const std::string timer = o.device.is_cuda() ? "GPU wall time" : "process CPU time";
  j["title"] = "Encoder cost against the number of feature tokens (" + timer + ", ms)";
  j["timer"] = timer + " per training step (forward + backward), median; wall_ms beside it";
  j["command"] = fmt::format(
      "ftmamba bench scaling --models {} --lengths {} --batch {} --d-token {} --n-layers {} --fit-from {} "
      "--min-seconds {} --threads {} --device {}",
      fmt::join(model_names, ","), fmt::join(o.lengths, ","), o.batch, o.d_token, o.n_layers, o.fit_from, o.min_seconds,
      o.threads, o.device.str());
  j["machine"] =
      o.device.is_cuda() ? "GPU " + describe_device(o.device) : "CPU, " + std::to_string(o.threads) + " thread(s)";
  j["batch"] = o.batch;
  j["d_token"] = o.d_token;
  j["n_layers"] = o.n_layers;
  j["points"] = points;
  j["fits"] = fits;
  const fs::path out(o.out);
  fs::create_directories(out);
  io::write_file_atomic(out / "scaling.json", j.dump(1) + "\n");
  for (const auto& [model, f] : fits.items())
    log(fmt::format("{}: fitted slope {:.3f} over L >= {}", model, f["slope"].get<double>(), o.fit_from));
  render_scaling_report(nlohmann::json::parse(j.dump()), out);
  return j;
}

}  // namespace ftmamba::experiments
