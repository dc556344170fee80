// Tests the feature tokenizer's math: numerical, missing and categorical tokens, and [CLS] last.
#include <gtest/gtest.h>

#include "ftmamba/nn/tokenizer.h"

TEST(FeatureTokenizer, TokensFollowTheFormulas) {
  torch::manual_seed(0);
  ftmamba::nn::FeatureTokenizer tok(ftmamba::nn::FeatureShape{2, 2, 6, {}}, 4);
  auto num = torch::tensor({{0.5f, -2.0f}, {1.5f, 0.0f}});
  auto miss = torch::tensor({{0.0f, 0.0f}, {0.0f, 1.0f}});
  auto cat = torch::tensor({{0, 4}, {2, 5}}, torch::kInt64);
  auto t = tok(num, miss, cat);  // (2, 5, 4)
  ASSERT_EQ(t.sizes().vec(), (std::vector<int64_t>{2, 5, 4}));
  EXPECT_EQ(tok->n_tokens(), 5);
  // numerical: x * W_j + b_j (+ missing vector when missing)
  EXPECT_TRUE(t[0][1].allclose(-2.0f * tok->num_weight[1] + tok->num_bias[1]));
  EXPECT_TRUE(t[1][1].allclose(0.0f * tok->num_weight[1] + tok->num_bias[1] + tok->num_missing[1]));
  EXPECT_TRUE(t[1][0].allclose(1.5f * tok->num_weight[0] + tok->num_bias[0]));
  // categorical: E[index] + b_j
  EXPECT_TRUE(t[0][3].allclose(tok->cat_embeddings[4] + tok->cat_bias[1]));
  EXPECT_TRUE(t[1][2].allclose(tok->cat_embeddings[2] + tok->cat_bias[0]));
  // [CLS] last, identical for every row
  EXPECT_TRUE(t[0][4].equal(tok->cls_token));
  EXPECT_TRUE(t[1][4].equal(tok->cls_token));
}

TEST(FeatureTokenizer, OnlyNumericalOrOnlyCategorical) {
  ftmamba::nn::FeatureTokenizer a(ftmamba::nn::FeatureShape{3, 0, 0, {}}, 8),
      b(ftmamba::nn::FeatureShape{0, 2, 5, {}}, 8);
  EXPECT_EQ(a(torch::randn({4, 3}), torch::zeros({4, 3}), torch::zeros({4, 0}, torch::kInt64)).sizes().vec(),
            (std::vector<int64_t>{4, 4, 8}));
  EXPECT_EQ(b(torch::zeros({4, 0}), torch::zeros({4, 0}), torch::randint(0, 5, {4, 2})).sizes().vec(),
            (std::vector<int64_t>{4, 3, 8}));
}
