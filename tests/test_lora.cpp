// LoRA adapters (nn/projection, nn/lora): the adapter's math against a plain-LibTorch reference in float64,
// merged against unmerged outputs on whole towers, gradients reaching every adapter and no frozen weight,
// trainable-parameter counts, target matching and the errors a user sees.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include "ftmamba/nn/encoder.h"
#include "ftmamba/nn/lora.h"
#include "ftmamba/nn/projection.h"

namespace nn = ftmamba::nn;

namespace {
// Gives every adapter's B random values, so that the adapters change the output (B starts at zero).
void randomise_adapters(torch::nn::Module& m) {
  torch::NoGradGuard no_grad;
  for (auto& p : m.named_parameters())
    if (p.key().find("lora_B") != std::string::npos) p.value().normal_(0.0, 0.3);
}

struct TowerInputs {
  torch::Tensor num, miss, cat;
};
TowerInputs random_inputs(int64_t batch, const nn::FeatureShape& s) {
  return {torch::randn({batch, s.n_numerical}), torch::zeros({batch, s.n_numerical}),
          torch::randint(0, s.n_categories, {batch, s.n_categorical}, torch::kInt64)};
}

nn::EncoderConfig small_config(const std::string& type) {
  nn::EncoderConfig cfg;
  cfg.type = ftmamba::parse_enum<ftmamba::nn::EncoderType>(type);
  cfg.d_token = 16;
  cfg.n_layers = 2;
  cfg.n_heads = 2;
  cfg.embed_dim = 8;
  cfg.attention_dropout = cfg.ffn_dropout = 0.0;
  return cfg;
}
}  // namespace

TEST(LoraProjection, MatchesPlainReferenceInFloat64IncludingSlicedOutputs) {
  torch::manual_seed(3);
  nn::Projection p(7, 5, true);
  p->to(torch::kFloat64);
  p->attach_lora({3, 6.0, 0.0});
  randomise_adapters(*p);
  const auto x = torch::randn({4, 2, 7}, torch::kFloat64);
  const auto A = p->lora_A->weight, B = p->lora_B->weight;
  ASSERT_EQ(A.sizes(), torch::IntArrayRef({3, 7}));
  ASSERT_EQ(B.sizes(), torch::IntArrayRef({5, 3}));
  // W x + b + (alpha / r) B A x, written out.
  const auto W_eff = p->weight + (6.0 / 3.0) * torch::matmul(B, A);
  EXPECT_TRUE(torch::allclose(p->forward(x), torch::matmul(x, W_eff.t()) + p->bias, 1e-12, 1e-12));
  EXPECT_TRUE(torch::allclose(p->forward_without_bias(x), torch::matmul(x, W_eff.t()), 1e-12, 1e-12));
  EXPECT_TRUE(torch::allclose(p->forward_outputs(x, 1, 3),
                              torch::matmul(x, W_eff.narrow(0, 1, 3).t()) + p->bias.narrow(0, 1, 3), 1e-12, 1e-12));
}

TEST(LoraProjection, StartsAsTheBaseAndGradientsMatchReference) {
  torch::manual_seed(4);
  nn::Projection p(6, 4, false);
  p->to(torch::kFloat64);
  const auto x = torch::randn({9, 6}, torch::kFloat64);
  const auto before = p->forward(x).detach();
  p->attach_lora({2, 4.0, 0.0});
  EXPECT_TRUE(torch::equal(p->forward(x), before));  // B = 0: the output is the base's
  randomise_adapters(*p);
  const auto w = torch::randn({9, 4}, torch::kFloat64);
  (p->forward(x) * w).sum().backward();
  // d/dA and d/dB of sum(w * (s B A x^T)^T) with s = alpha / r = 2: dB = s w^T (x A^T), dA = s B^T w^T x.
  const auto A = p->lora_A->weight.detach(), B = p->lora_B->weight.detach();
  EXPECT_TRUE(torch::allclose(p->lora_B->weight.grad(), 2.0 * torch::matmul(w.t(), torch::matmul(x, A.t())), 1e-10));
  EXPECT_TRUE(torch::allclose(p->lora_A->weight.grad(), 2.0 * torch::matmul(B.t(), torch::matmul(w.t(), x)), 1e-10));
}

TEST(LoraProjection, RejectsBadOptionsAndSecondAdapter) {
  nn::Projection p(4, 4, true);
  EXPECT_THROW(p->attach_lora({0, 1.0, 0.0}), std::invalid_argument);
  EXPECT_THROW(p->attach_lora({2, 1.0, 1.0}), std::invalid_argument);
  p->attach_lora({2, 1.0, 0.0});
  EXPECT_THROW(p->attach_lora({2, 1.0, 0.0}), std::runtime_error);
}

TEST(LoraProjection, DropoutAppliesToTheAdapterInTrainingOnly) {
  torch::manual_seed(5);
  nn::Projection p(32, 16, true);
  p->attach_lora({4, 8.0, 0.5});
  randomise_adapters(*p);
  const auto x = torch::randn({64, 32});
  p->eval();
  const auto a = p->forward(x), b = p->forward(x);
  EXPECT_TRUE(torch::equal(a, b));
  p->train();
  EXPECT_FALSE(torch::allclose(p->forward(x), a, 1e-4, 1e-4));
}

// On whole towers of both kinds: merged equals unmerged, the gradient reaches every adapter and no frozen
// weight, and the trainable count is exactly the adapters' r (in + out) per projection.
class LoraTower : public ::testing::TestWithParam<std::string> {};

TEST_P(LoraTower, MergedEqualsUnmergedAndOnlyAdaptersTrain) {
  torch::manual_seed(6);
  const nn::FeatureShape shape{3, 2, 11, {}};
  auto enc = nn::make_encoder(small_config(GetParam()), shape);
  const auto targets = nn::lora_default_targets(ftmamba::parse_enum<nn::EncoderType>(GetParam()));
  const int64_t rank = 4;
  const int64_t total_before = nn::count_parameters(*enc).total;
  const auto attached = nn::attach_lora(*enc, {rank, 8.0, 0.0}, targets);
  ASSERT_EQ(attached.size(), GetParam() == "ft-mamba" ? 8u : 12u);  // 2 layers x 4 or x 6 projections
  for (const auto& path : attached) EXPECT_EQ(path.find("head"), std::string::npos) << path;

  int64_t expected_adapter_params = 0;
  for (const auto& item : enc->named_modules("", false))
    if (auto p = std::dynamic_pointer_cast<nn::ProjectionImpl>(item.value()); p && p->has_lora())
      expected_adapter_params += rank * (p->in_features() + p->out_features());
  const nn::ParameterCount count = nn::freeze_all_but_adapters(*enc);
  EXPECT_EQ(count.trainable, expected_adapter_params);
  EXPECT_EQ(count.total, total_before + expected_adapter_params);
  EXPECT_LT(count.trainable, count.total / 2);

  randomise_adapters(*enc);
  enc->eval();
  const TowerInputs in = random_inputs(6, shape);
  const auto w = torch::randn({6, 8});
  (enc->forward(in.num, in.miss, in.cat) * w).sum().backward();
  std::set<std::string> with_grad;
  for (const auto& p : enc->named_parameters()) {
    const bool adapter = nn::is_lora_parameter(p.key());
    EXPECT_EQ(p.value().requires_grad(), adapter) << p.key();
    if (adapter) {
      ASSERT_TRUE(p.value().grad().defined()) << p.key();
      EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
      with_grad.insert(p.key());
    } else {
      EXPECT_FALSE(p.value().grad().defined()) << p.key();
    }
  }
  EXPECT_EQ(with_grad.size(), 2 * attached.size());

  const auto unmerged = enc->forward(in.num, in.miss, in.cat).detach();
  EXPECT_EQ(nn::merge_lora(*enc), static_cast<int64_t>(attached.size()));
  const auto merged = enc->forward(in.num, in.miss, in.cat).detach();
  EXPECT_TRUE(torch::allclose(merged, unmerged, 1e-5, 1e-6)) << (merged - unmerged).abs().max().item<double>();
  EXPECT_EQ(nn::count_parameters(*enc).total, total_before);  // the adapters are gone
  for (const auto& p : enc->named_parameters()) EXPECT_FALSE(nn::is_lora_parameter(p.key())) << p.key();
}

INSTANTIATE_TEST_SUITE_P(EveryTower, LoraTower,
                         ::testing::Values("ft-mamba", "ft-transformer", "ft-transformer-stock"));

TEST(LoraTargets, GlobsMatchPathsOrLastComponentAndUnknownTargetsNameTheChoices) {
  EXPECT_TRUE(nn::lora_target_matches("in_proj", "user_tower.layers.0.mixer.in_proj"));
  EXPECT_TRUE(nn::lora_target_matches("*.mixer.*_proj", "user_tower.layers.1.mixer.dt_proj"));
  EXPECT_TRUE(nn::lora_target_matches("W_?", "blocks.0.attention.W_q"));
  EXPECT_FALSE(nn::lora_target_matches("proj", "layers.0.mixer.in_proj"));
  EXPECT_FALSE(nn::lora_target_matches("W_?", "blocks.0.attention.W_out"));
  EXPECT_THROW(ftmamba::parse_enum<nn::EncoderType>("ft-lstm"), ftmamba::Error);

  torch::manual_seed(7);
  auto enc = nn::make_encoder(small_config("ft-mamba"), {2, 1, 5, {}});
  // One layer's dt_proj only, by a path glob; the extra "*head*" stays trainable too.
  const auto attached = nn::attach_lora(*enc, {2, 2.0, 0.0}, {"layers.1.*dt_proj"});
  ASSERT_EQ(attached, std::vector<std::string>{"layers.1.mixer.dt_proj"});
  const auto count = nn::freeze_all_but_adapters(*enc, {"*head*"});
  int64_t head = 0;
  for (const auto& p : enc->named_parameters())
    if (p.key().find("head") != std::string::npos) head += p.value().numel();
  const auto dt = enc->named_modules()["layers.1.mixer.dt_proj"]->as<nn::ProjectionImpl>();
  EXPECT_EQ(count.trainable, head + 2 * (dt->in_features() + dt->out_features()));

  try {
    nn::attach_lora(*enc, {2, 2.0, 0.0}, {"q_proj"});
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("q_proj"), std::string::npos) << msg;
    EXPECT_NE(msg.find("layers.0.mixer.in_proj"), std::string::npos) << msg;
  }
}
