// Tests the training losses against values computed by hand, the accidental-hit mask, the optimizer's
// parameter groups and the learning-rate schedule.
#include <gtest/gtest.h>

#include <cmath>

#include "ftmamba/nn/ft_mamba.h"
#include "ftmamba/train/losses.h"
#include "ftmamba/train/optimizer.h"

using namespace ftmamba::train;

TEST(Losses, InBatchSoftmaxMatchesHandComputation) {
  auto u = torch::tensor({{1.0f, 0.0f}, {0.0f, 1.0f}});
  auto v = torch::tensor({{1.0f, 0.0f}, {0.6f, 0.8f}, {0.0f, 1.0f}});
  auto target = torch::tensor({0, 2}, torch::kInt64);
  auto log_q = torch::tensor({std::log(0.5f), std::log(0.25f), std::log(0.25f)});
  const double T = 0.5;
  auto loss = in_batch_softmax_loss(u, v, target, torch::Tensor(), log_q, T).item<double>();
  // row 0 logits: [1, .6, 0]/T - log q ; row 1: [0, .8, 1]/T - log q
  auto ce = [&](std::vector<double> s, int t) {
    double z = 0;
    for (double x : s) z += std::exp(x);
    return -(s[t] - std::log(z));
  };
  const double lq[3] = {std::log(0.5), std::log(0.25), std::log(0.25)};
  const double r0 = ce({1 / T - lq[0], 0.6 / T - lq[1], 0 / T - lq[2]}, 0);
  const double r1 = ce({0 / T - lq[0], 0.8 / T - lq[1], 1 / T - lq[2]}, 2);
  EXPECT_NEAR(loss, (r0 + r1) / 2, 1e-5);
  // Pair weights scale each row's term; the mean stays over rows.
  const auto weighted = in_batch_softmax_loss(u, v, target, torch::Tensor(), log_q, T, torch::tensor({0.5f, 1.5f}));
  EXPECT_NEAR(weighted.item<double>(), (0.5 * r0 + 1.5 * r1) / 2, 1e-5);
  // Without logQ the value differs.
  EXPECT_GT(std::abs(in_batch_softmax_loss(u, v, target, torch::Tensor(), torch::Tensor(), T).item<double>() - loss),
            1e-3);
}

TEST(Losses, AccidentalHitsAreRemoved) {
  // Rows 0 and 2 belong to user 7 with positives in columns 0 and 1: each is masked in the other's row.
  auto mask = accidental_hit_mask(torch::tensor({7, 8, 7}, torch::kInt64), torch::tensor({0, 2, 1}, torch::kInt64), 3);
  auto expected = torch::tensor({{false, true, false}, {false, false, false}, {true, false, false}});
  EXPECT_TRUE(mask.equal(expected));
  auto u = torch::randn({3, 4}), v = torch::randn({3, 4});
  auto target = torch::tensor({0, 2, 1}, torch::kInt64);
  auto masked = in_batch_softmax_loss(u, v, target, mask, torch::Tensor(), 1.0).item<double>();
  auto logits = torch::matmul(u, v.t()).masked_fill(mask, -1e9);
  auto manual = torch::nn::functional::cross_entropy(logits, target).item<double>();
  EXPECT_NEAR(masked, manual, 1e-6);
}

TEST(Losses, PointwiseBceAndMse) {
  auto pos = torch::tensor({2.0f}), neg = torch::tensor({-1.0f, 0.5f});
  const double bce = (std::log1p(std::exp(-2.0)) + std::log1p(std::exp(-1.0)) + std::log1p(std::exp(0.5))) / 3;
  EXPECT_NEAR(pointwise_loss(pos, neg, ftmamba::run::LossKind::kBce).item<double>(), bce, 1e-6);
  EXPECT_NEAR(pointwise_loss(pos, neg, ftmamba::run::LossKind::kMse).item<double>(), (1.0 + 1.0 + 0.25) / 3, 1e-6);
}

TEST(Optimizer, NoDecayGroupsAndSchedule) {
  EXPECT_TRUE(is_no_decay_parameter("user_tower.layers.0.mixer.A_log"));
  EXPECT_TRUE(is_no_decay_parameter("user_tower.layers.0.mixer.D"));
  EXPECT_TRUE(is_no_decay_parameter("user_tower.layers.0.mixer.dt_proj.bias"));
  EXPECT_TRUE(is_no_decay_parameter("item_tower.layers.1.norm.weight"));
  EXPECT_TRUE(is_no_decay_parameter("item_tower.norm_f.weight"));
  EXPECT_TRUE(is_no_decay_parameter("item_tower.tokenizer.cat_embeddings"));
  EXPECT_FALSE(is_no_decay_parameter("item_tower.layers.1.mixer.in_proj.weight"));
  EXPECT_FALSE(is_no_decay_parameter("item_tower.head.weight"));
  ftmamba::nn::EncoderConfig cfg;
  ftmamba::nn::FTMambaEncoder enc(cfg, {2, 1, 4, {}});
  auto opt = make_optimizer(enc, 1e-3, 0.1);
  ASSERT_EQ(opt->param_groups().size(), 2u);
  auto wd = [&](int g) {
    return static_cast<torch::optim::AdamWOptions&>(opt->param_groups()[g].options()).weight_decay();
  };
  EXPECT_DOUBLE_EQ(wd(0), 0.1);
  EXPECT_DOUBLE_EQ(wd(1), 0.0);
  EXPECT_EQ(opt->param_groups()[0].params().size() + opt->param_groups()[1].params().size(), enc.parameters().size());

  LrSchedule s(1.0, 100, 0.1, 0.1);
  EXPECT_NEAR(s.at(0), 0.1, 1e-12);  // warmup: (step+1)/10
  EXPECT_NEAR(s.at(9), 1.0, 1e-12);
  EXPECT_NEAR(s.at(10), 1.0, 1e-12);              // cosine starts at the peak
  EXPECT_NEAR(s.at(55), 0.1 + 0.9 * 0.5, 1e-12);  // half way
  EXPECT_NEAR(s.at(100), 0.1, 1e-12);
}

TEST(Losses, PointwiseWeightsScaleAPairsPositiveAndItsNegatives) {
  const auto pos = torch::tensor({0.3f, -1.2f}), neg = torch::tensor({0.5f, -0.1f, 2.0f, 0.7f});  // k = 2
  const auto sp = [](double x) { return std::log1p(std::exp(x)); };
  const double w0 = 0.25, w1 = 1.75;
  const double want = (w0 * (sp(-0.3) + sp(0.5) + sp(-0.1)) + w1 * (sp(1.2) + sp(2.0) + sp(0.7))) / 6;
  const auto got = pointwise_loss(pos, neg, ftmamba::run::LossKind::kBce, torch::tensor({0.25f, 1.75f}));
  EXPECT_NEAR(got.item<double>(), want, 1e-6);
  const double mse = (w0 * (std::pow(0.3 - 1, 2) + 0.25 + 0.01) + w1 * (std::pow(-1.2 - 1, 2) + 4.0 + 0.49)) / 6;
  EXPECT_NEAR(pointwise_loss(pos, neg, ftmamba::run::LossKind::kMse, torch::tensor({0.25f, 1.75f})).item<double>(), mse,
              1e-6);
  // Weights of 1 give the unweighted loss.
  EXPECT_NEAR(pointwise_loss(pos, neg, ftmamba::run::LossKind::kBce, torch::ones({2})).item<double>(),
              pointwise_loss(pos, neg, ftmamba::run::LossKind::kBce).item<double>(), 1e-7);
}
