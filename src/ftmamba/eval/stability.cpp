// defines: analyze_tower_stability (see stability.h).
#include "ftmamba/eval/stability.h"

#include <cmath>

#include "ftmamba/core/device.h"
#include "ftmamba/core/error.h"
#include "ftmamba/nn/ft_mamba.h"
#include "ftmamba/ops/precision.h"

namespace ftmamba::eval {

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
      const auto A = -torch::exp(layer.mixer->A_log.to(torch::kFloat64));          // (d_inner, N)
      auto entry = lyapunov(dt.unsqueeze(-1) * A);
      entry["layer"] = static_cast<int64_t>(i);
      entry["dt"] = {
          {"min", dt.min().item<double>()}, {"mean", dt.mean().item<double>()}, {"max", dt.max().item<double>()}};
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
      for (size_t i = 0; i < base.layers.size(); ++i)
        layer_dev.push_back(relative_deviation(moved.layers[i], base.layers[i]));
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
      for (size_t i = 0; i < ref.layers.size(); ++i)
        layer_dev.push_back(relative_deviation(low.layers[i], ref.layers[i]));
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

}  // namespace ftmamba::eval
