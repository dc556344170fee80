// Tests the Mamba block: a finite-difference gradient check of the whole block in float64 (input and
// every parameter), the mamba_ssm parameter names and shapes, and the initialisation the design fixes.
#include <gtest/gtest.h>

#include <cmath>

#include "ftmamba/nn/ft_mamba.h"
#include "ftmamba/nn/mamba.h"

using ftmamba::nn::Mamba;
using ftmamba::nn::MambaConfig;

namespace {

// Central differences of sum(out * w) against autograd, for every element of `x`.
void check_gradient(const std::function<torch::Tensor()>& loss_fn, torch::Tensor x, const std::string& name) {
  auto analytic = x.grad().clone();
  torch::NoGradGuard no_grad;
  const double eps = 1e-6;
  auto flat = x.view({-1});
  auto g = analytic.view({-1});
  for (int64_t i = 0; i < flat.numel(); ++i) {
    const double orig = flat[i].item<double>();
    flat[i] = orig + eps;
    const double up = loss_fn().item<double>();
    flat[i] = orig - eps;
    const double down = loss_fn().item<double>();
    flat[i] = orig;
    const double numeric = (up - down) / (2 * eps);
    ASSERT_NEAR(g[i].item<double>(), numeric, 1e-6 * std::max(1.0, std::abs(numeric))) << name << "[" << i << "]";
  }
}

// A float64 block with d_model 5, d_state 3 and expand 2, its A_log, D and biases moved away from their
// structured initial values so every path is exercised.
Mamba small_float64_block(uint64_t seed, MambaConfig& cfg) {
  torch::manual_seed(seed);
  cfg.d_model = 5;
  cfg.d_state = 3;
  cfg.expand = 2;
  Mamba block(cfg);
  block->to(torch::kFloat64);
  torch::NoGradGuard g;
  for (auto& p : block->parameters()) p.add_(0.1 * torch::randn_like(p));
  return block;
}

}  // namespace

TEST(MambaBlock, FiniteDifferenceGradientCheckFloat64) {
  MambaConfig cfg;
  Mamba block = small_float64_block(3, cfg);
  auto u = torch::randn({2, 7, cfg.d_model}, torch::kFloat64).requires_grad_(true);
  auto w = torch::randn({2, 7, cfg.d_model}, torch::kFloat64);
  auto loss_fn = [&] { return (block->forward(u) * w).sum(); };
  loss_fn().backward();
  check_gradient(loss_fn, u, "u");
  for (auto& p : block->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    check_gradient(loss_fn, p.value(), p.key());
  }
}

TEST(MambaBlock, ParameterNamesShapesAndInit) {
  MambaConfig cfg;
  cfg.d_model = 64;
  Mamba block(cfg);
  std::map<std::string, std::vector<int64_t>> expected = {
      {"in_proj.weight", {256, 64}},  {"conv1d.weight", {128, 1, 4}}, {"conv1d.bias", {128}},
      {"x_proj.weight", {36, 128}},   {"dt_proj.weight", {128, 4}},   {"dt_proj.bias", {128}},
      {"out_proj.weight", {64, 128}}, {"A_log", {128, 16}},           {"D", {128}},
  };
  auto params = block->named_parameters();
  EXPECT_EQ(params.size(), expected.size());
  for (const auto& [name, shape] : expected) {
    ASSERT_TRUE(params.contains(name)) << name;
    EXPECT_EQ(params[name].sizes().vec(), shape) << name;
  }
  // A_log[d, n] = log(n + 1); D = 1; softplus(dt bias) within [dt_min, dt_max].
  EXPECT_NEAR(params["A_log"][5][3].item<double>(), std::log(4.0), 1e-6);
  EXPECT_TRUE(params["D"].eq(1).all().item<bool>());
  auto dt = torch::nn::functional::softplus(params["dt_proj.bias"]);
  EXPECT_GE(dt.min().item<double>(), 1e-3 * 0.999);
  EXPECT_LE(dt.max().item<double>(), 1e-1 * 1.001);
}

TEST(FTMambaEncoder, NamesAndClsSeesEveryFeature) {
  torch::manual_seed(1);
  ftmamba::nn::EncoderConfig cfg;
  cfg.d_token = 16;
  cfg.embed_dim = 8;
  ftmamba::nn::FTMambaEncoder enc(cfg, {3, 2, 10, {}});
  auto names = enc.named_parameters();
  for (const char* n : {"layers.0.mixer.in_proj.weight", "layers.1.mixer.A_log", "layers.1.norm.weight",
                        "norm_f.weight", "head.weight", "tokenizer.cls_token", "tokenizer.cat_embeddings"})
    EXPECT_TRUE(names.contains(n)) << n;
  enc.eval();
  auto num = torch::randn({1, 3}), miss = torch::zeros({1, 3});
  auto cat = torch::tensor({{1, 7}}, torch::kInt64);
  auto base = enc.forward(num, miss, cat);
  EXPECT_NEAR(base.norm().item<double>(), 1.0, 1e-5);  // L2-normalised
  // The [CLS] token is last, so a change to the first feature (the farthest back) still reaches it.
  auto num2 = num.clone();
  num2[0][0] += 1.0;
  EXPECT_GT((enc.forward(num2, miss, cat) - base).abs().max().item<double>(), 1e-4);
  auto cat2 = torch::tensor({{1, 8}}, torch::kInt64);
  EXPECT_GT((enc.forward(num, miss, cat2) - base).abs().max().item<double>(), 1e-4);
}

// forward_last is the shortcut the tower's last layer takes: it must equal the last position of forward,
// in value and in every gradient, for a one-token sequence and an odd length.
TEST(MambaBlock, ForwardLastEqualsLastPositionOfForwardFloat64) {
  MambaConfig cfg;
  Mamba block = small_float64_block(5, cfg);
  for (int64_t L : {1, 2, 7}) {
    auto u = torch::randn({3, L, cfg.d_model}, torch::kFloat64);
    auto w = torch::randn({3, cfg.d_model}, torch::kFloat64);
    // Gradients of sum(out * w) through one path, as (input, every parameter in order).
    auto grads = [&](bool last) {
      block->zero_grad();
      auto x = u.clone().requires_grad_(true);
      auto out = last ? block->forward_last(x) : block->forward(x).select(1, L - 1);
      (out * w).sum().backward();
      std::vector<torch::Tensor> g = {out.detach(), x.grad()};
      for (auto& p : block->parameters()) g.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
      return g;
    };
    auto full = grads(false), shortcut = grads(true);
    ASSERT_EQ(full.size(), shortcut.size());
    EXPECT_GT(full[0].abs().max().item<double>(), 1e-3) << "L=" << L;
    for (size_t i = 0; i < full.size(); ++i) {
      EXPECT_TRUE(torch::allclose(full[i], shortcut[i], 1e-10, 1e-12))
          << "L=" << L << " tensor " << i << " max diff " << (full[i] - shortcut[i]).abs().max().item<double>();
    }
  }
}

// The encoder runs its last layer through forward_last; the result must match running every layer in full
// and reading the last position.
TEST(FTMambaEncoder, LastLayerShortcutMatchesFullSequence) {
  torch::manual_seed(2);
  ftmamba::nn::EncoderConfig cfg;
  cfg.d_token = 8;
  cfg.embed_dim = 6;
  cfg.n_layers = 3;
  ftmamba::nn::FTMambaEncoder enc(cfg, {3, 2, 10, {}});
  enc.to(torch::kFloat64);
  auto num = torch::randn({4, 3}, torch::kFloat64), miss = torch::zeros({4, 3}, torch::kFloat64);
  auto cat = torch::randint(0, 10, {4, 2}, torch::kInt64);
  auto x = enc.tokenizer(num, miss, cat);
  for (auto& layer : *enc.layers) x = layer->as<ftmamba::nn::MambaResidualLayer>()->forward(x);
  auto full = torch::nn::functional::normalize(enc.head(enc.norm_f(x.select(1, x.size(1) - 1))),
                                               torch::nn::functional::NormalizeFuncOptions().dim(-1));
  auto got = enc.forward(num, miss, cat);
  EXPECT_TRUE(torch::allclose(got, full, 1e-12, 1e-12)) << (got - full).abs().max().item<double>();
}
