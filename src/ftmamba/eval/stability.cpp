// defines: analyze_tower_stability and render_stability_report (see stability.h).
#include "ftmamba/eval/stability.h"

#include <fmt/format.h>

#include <cmath>

#include "ftmamba/core/device.h"
#include "ftmamba/core/error.h"
#include "ftmamba/report/figure.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/nn/ft_mamba.h"
#include "ftmamba/ops/precision.h"

namespace ftmamba::eval {
namespace fs = std::filesystem;

namespace {

nn::MambaResidualLayerImpl& layer_at(nn::FTMambaEncoder& enc, size_t i) {
  return *enc.layers[i]->as<nn::MambaResidualLayer>();
}

// ||a - b|| / ||b|| over the whole tensor.
double relative_deviation(const torch::Tensor& a, const torch::Tensor& b) {
  const double denom = b.to(torch::kFloat64).norm().item<double>();
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).norm().item<double>() / std::max(denom, 1e-300);
}

// Each layer's full-sequence output (batch, L, d) from the tokens, and the tower's embedding.
struct Trace {
  std::vector<torch::Tensor> layers;
  torch::Tensor embedding;
};
Trace trace(nn::FTMambaEncoder& enc, const torch::Tensor& tokens) {
  Trace t;
  torch::Tensor x = tokens;
  for (size_t i = 0; i < enc.layers->size(); ++i) t.layers.push_back(x = layer_at(enc, i).forward(x));
  t.embedding = enc.forward_tokens(tokens);
  return t;
}

// Maximal Lyapunov exponents of one layer's state recurrence over a batch. log_a: (batch, L, d_inner, N),
// the log of each step's diagonal Jacobian exp(dt A).
nlohmann::ordered_json lyapunov(const torch::Tensor& log_a) {
  const int64_t batch = log_a.size(0), L = log_a.size(1);
  // Exact for a diagonal recurrence: the growth rate of the slowest-decaying coordinate.
  const auto exact = std::get<0>(log_a.mean(1).flatten(1).max(1));  // (batch)
  // Tangent estimate: a random unit perturbation, propagated and renormalised step by step.
  auto v = torch::randn({batch, log_a.size(2), log_a.size(3)}, log_a.options());
  v = v / v.flatten(1).norm(2, 1).view({batch, 1, 1});
  auto growth = torch::zeros({batch}, log_a.options());
  for (int64_t t = 0; t < L; ++t) {
    v = torch::exp(log_a.select(1, t)) * v;
    const auto n = v.flatten(1).norm(2, 1);  // (batch)
    growth += torch::log(n);
    v = v / n.view({batch, 1, 1});
  }
  const auto tangent = growth / static_cast<double>(std::max<int64_t>(L, 1));
  return {{"lyapunov_tangent", {{"max", tangent.max().item<double>()}, {"mean", tangent.mean().item<double>()}}},
          {"lyapunov_exact", {{"max", exact.max().item<double>()}, {"mean", exact.mean().item<double>()}}}};
}

}  // namespace

nlohmann::ordered_json analyze_tower_stability(nn::TowerEncoder& tower, const data::EncodedFeatures& in,
                                               const StabilityOptions& options) {
  auto* enc = dynamic_cast<nn::FTMambaEncoder*>(&tower);
  if (!enc) throw Error("stability analysis needs an FT-Mamba tower (a Transformer has no state recurrence)");
  torch::NoGradGuard no_grad;
  const bool was_training = tower.is_training();
  tower.eval();
  torch::manual_seed(options.seed);
  const torch::Device device = module_device(tower);
  nlohmann::ordered_json out;

  // 1. Lyapunov exponents of each layer's recurrence, on the inputs each layer really sees.
  {
    nlohmann::ordered_json layers = nlohmann::ordered_json::array();
    torch::Tensor x = enc->tokenizer(in.numerical, in.missing, in.categorical);  // (batch, L, d)
    for (size_t i = 0; i < enc->layers->size(); ++i) {
      auto& layer = layer_at(*enc, i);
      const auto dt = layer.mixer->time_steps(layer.norm(x)).to(torch::kFloat64);  // (batch, L, d_inner)
      const auto A = -torch::exp(layer.mixer->A_log.to(torch::kFloat64));           // (d_inner, N)
      auto entry = lyapunov(dt.unsqueeze(-1) * A);
      entry["layer"] = static_cast<int64_t>(i);
      entry["dt"] = {{"min", dt.min().item<double>()}, {"mean", dt.mean().item<double>()}, {"max", dt.max().item<double>()}};
      entry["A"] = {{"max", A.max().item<double>()}};  // closest to zero: the slowest decay
      layers.push_back(entry);
      x = layer.forward(x);
    }
    out["layers"] = layers;
  }

  // 2. Relative input perturbations of size eps, in float64 so that eps = 1e-6 is far above rounding.
  const auto dtype = tower.parameters().front().scalar_type();
  tower.to(torch::kFloat64);
  {
    const auto tokens = enc->tokenizer(in.numerical, in.missing, in.categorical);  // (batch, L, d) float64
    const Trace base = trace(*enc, tokens);
    const auto rows = tokens.size(0);
    auto direction = torch::randn_like(tokens);
    // Each row's perturbation has the norm of that row's tokens, times eps.
    direction *= tokens.flatten(1).norm(2, 1).view({rows, 1, 1}) / direction.flatten(1).norm(2, 1).view({rows, 1, 1});
    nlohmann::ordered_json rows_json = nlohmann::ordered_json::array();
    for (const double eps : options.epsilons) {
      const Trace moved = trace(*enc, tokens + eps * direction);
      nlohmann::ordered_json layer_dev = nlohmann::ordered_json::array();
      for (size_t i = 0; i < base.layers.size(); ++i) layer_dev.push_back(relative_deviation(moved.layers[i], base.layers[i]));
      const double dev = relative_deviation(moved.embedding, base.embedding);
      rows_json.push_back({{"eps", eps}, {"output_rel_dev", dev}, {"ratio", dev / eps}, {"layer_rel_dev", layer_dev}});
    }
    out["perturbation"] = rows_json;
  }
  tower.to(dtype);

  // 3. fp32 against the low precisions this device runs, through every layer and to the embedding.
  {
    const auto tokens = enc->tokenizer(in.numerical, in.missing, in.categorical).to(torch::kFloat32);
    const Trace ref = trace(*enc, tokens);
    nlohmann::ordered_json rows_json = nlohmann::ordered_json::array();
    std::vector<ops::Precision> precisions = {ops::Precision::kBf16};
    if (device.is_cuda()) precisions.push_back(ops::Precision::kFp16);
    for (const auto p : precisions) {
      Trace low;
      {
        ops::AutocastScope autocast(p, device);
        low = trace(*enc, tokens);
      }
      nlohmann::ordered_json layer_dev = nlohmann::ordered_json::array();
      for (size_t i = 0; i < ref.layers.size(); ++i) layer_dev.push_back(relative_deviation(low.layers[i], ref.layers[i]));
      const double cosine = (1.0 - torch::cosine_similarity(low.embedding.to(torch::kFloat64),
                                                            ref.embedding.to(torch::kFloat64), 1, 1e-12))
                                .mean()
                                .item<double>();
      rows_json.push_back({{"precision", enum_name(p)},
                           {"layer_rel_dev", layer_dev},
                           {"output_rel_dev", relative_deviation(low.embedding, ref.embedding)},
                           {"output_cosine_distance", cosine}});
    }
    out["precision"] = rows_json;
  }
  tower.train(was_training);
  return out;
}

void render_stability_report(const nlohmann::json& report, const fs::path& dir) {
  std::string md = "# Stability of " + report.value("run", std::string("the run")) + "\n\n";
  md += fmt::format("{} rows of each side of `{}`; {}.\n\n", report.value("rows", 0), report.value("data", std::string()),
                    report.value("machine", std::string()));
  std::string dat;
  std::string plots;
  int index = 0;
  for (const auto& [side, t] : report.at("towers").items()) {
    md += "## " + side + " tower\n\n";
    md += "| layer | λ_max, tangent estimate | λ_max, exact (diagonal) | mean λ over rows | dt min / mean / max | max A |\n";
    md += "| ---: | ---: | ---: | ---: | --- | ---: |\n";
    for (const auto& l : t.at("layers"))
      md += fmt::format("| {} | {:.4f} | {:.4f} | {:.4f} | {:.2e} / {:.2e} / {:.2e} | {:.3f} |\n", l["layer"].get<int64_t>(),
                        l["lyapunov_tangent"]["max"].get<double>(), l["lyapunov_exact"]["max"].get<double>(),
                        l["lyapunov_exact"]["mean"].get<double>(), l["dt"]["min"].get<double>(),
                        l["dt"]["mean"].get<double>(), l["dt"]["max"].get<double>(), l["A"]["max"].get<double>());
    md += "\nλ is per step (natural log): the state's perturbations shrink by exp(λ) a step at worst.\n\n";
    md += "| ε | embedding deviation | deviation / ε | layer deviations |\n| ---: | ---: | ---: | --- |\n";
    dat += fmt::format("# {} tower: eps output_rel_dev\n", side);
    for (const auto& r : t.at("perturbation")) {
      std::string layers;
      for (const auto& d : r["layer_rel_dev"]) layers += fmt::format("{}{:.2e}", layers.empty() ? "" : ", ", d.get<double>());
      md += fmt::format("| {:.0e} | {:.3e} | {:.3f} | {} |\n", r["eps"].get<double>(), r["output_rel_dev"].get<double>(),
                        r["ratio"].get<double>(), layers);
      dat += fmt::format("{:.6e} {:.6e}\n", r["eps"].get<double>(), r["output_rel_dev"].get<double>());
    }
    dat += "\n\n";
    plots += fmt::format("{}\"stability.dat\" index {} using 1:2 with linespoints lw 2 pt 7 title \"{} tower\"",
                         plots.empty() ? "" : ", ", index++, side);
    md += "\n| precision | embedding deviation from fp32 | cosine distance | layer deviations |\n| --- | ---: | ---: | --- |\n";
    for (const auto& r : t.at("precision")) {
      std::string layers;
      for (const auto& d : r["layer_rel_dev"]) layers += fmt::format("{}{:.2e}", layers.empty() ? "" : ", ", d.get<double>());
      md += fmt::format("| {} | {:.3e} | {:.3e} | {} |\n", r["precision"].get<std::string>(),
                        r["output_rel_dev"].get<double>(), r["output_cosine_distance"].get<double>(), layers);
    }
    md += "\n";
  }
  md += "![deviation against eps](figures/stability.svg)\n";
  io::write_file_atomic(dir / "stability.md", md);
  const fs::path fig_dir = dir / "figures";
  fs::create_directories(fig_dir);
  const std::string body =
      "  set logscale xy\n  set format x \"%.0e\"\n  set format y \"%.0e\"\n  set grid\n  set key top left\n"
      "  set xlabel \"relative input perturbation eps\"\n  set ylabel \"relative embedding deviation\"\n"
      "  plot " + plots + ", x with lines dt 2 lc rgb \"gray\" title \"deviation = eps\"\n";
  const report::FigureJob fig{"stability", dat, report::figure_script("stability", "Embedding deviation against input perturbation", 800, 560, body)};
  report::write_figure_sources(fig_dir, fig);
  report::draw_figures(fig_dir, {fig});
}

}  // namespace ftmamba::eval
