// Tests the ranking metrics against values worked out by hand, and the ranking protocols on a toy catalog.
#include <gtest/gtest.h>

#include <cmath>

#include "ftmamba/metrics/metrics.h"
#include "ftmamba/metrics/ranking.h"

using ftmamba::metrics::MetricsAccumulator;

TEST(Metrics, SingleRelevantItemAtRankThree) {
  MetricsAccumulator acc({1, 5, 10});
  acc.add({7, 3, 9, 1, 4}, {9});  // the relevant item is at rank 3
  EXPECT_DOUBLE_EQ(acc.mean("HR", 1), 0.0);
  EXPECT_DOUBLE_EQ(acc.mean("HR", 5), 1.0);
  EXPECT_DOUBLE_EQ(acc.mean("P", 5), 1.0 / 5);
  EXPECT_DOUBLE_EQ(acc.mean("P", 10), 1.0 / 10);
  EXPECT_DOUBLE_EQ(acc.mean("R", 5), 1.0);
  EXPECT_DOUBLE_EQ(acc.mean("MRR", 5), 1.0 / 3);
  EXPECT_DOUBLE_EQ(acc.mean("MRR", 1), 0.0);
  EXPECT_DOUBLE_EQ(acc.mean("NDCG", 5), 1.0 / std::log2(4.0));  // 1/log2(3+1) over an ideal DCG of 1
}

TEST(Metrics, TwoRelevantItemsAndAveraging) {
  MetricsAccumulator acc({1, 2, 4});
  acc.add({5, 6, 7, 8}, {6, 8});  // hits at ranks 2 and 4
  acc.add({1, 2, 3, 4}, {1});     // hit at rank 1
  // user 1: P@2 = 1/2, R@2 = 1/2, HR@2 = 1, MRR@2 = 1/2; user 2: P@2 = 1/2, R@2 = 1, HR@2 = 1, MRR = 1
  EXPECT_DOUBLE_EQ(acc.mean("P", 2), 0.5);
  EXPECT_DOUBLE_EQ(acc.mean("R", 2), 0.75);
  EXPECT_DOUBLE_EQ(acc.mean("HR", 1), 0.5);
  EXPECT_DOUBLE_EQ(acc.mean("MRR", 2), 0.75);
  // user 1 NDCG@4 = (1/log2(3) + 1/log2(5)) / (1 + 1/log2(3)); user 2 NDCG@4 = 1.
  const double u1 = (1 / std::log2(3.0) + 1 / std::log2(5.0)) / (1 + 1 / std::log2(3.0));
  EXPECT_NEAR(acc.mean("NDCG", 4), (u1 + 1.0) / 2, 1e-12);
  EXPECT_DOUBLE_EQ(acc.mean("R", 4), 1.0);
  EXPECT_EQ(acc.users(), 2);
  auto j = acc.to_json();
  EXPECT_DOUBLE_EQ(j["MRR@2"].get<double>(), 0.75);
}

TEST(Metrics, MissAndShortRankingAndMerge) {
  MetricsAccumulator a({1, 5}), b({1, 5});
  a.add({1, 2}, {3});  // never ranked
  b.add({3, 2}, {3});
  a.merge(b);
  EXPECT_DOUBLE_EQ(a.mean("HR", 5), 0.5);
  EXPECT_DOUBLE_EQ(a.mean("NDCG", 1), 0.5);
  EXPECT_THROW(a.add({1}, {}), std::runtime_error);
}

TEST(Ranking, FullCatalogMasksSeenItems) {
  // 3 users, 4 items; scores favour item 0 for everyone. User 0 has seen item 0 in training.
  ftmamba::data::Interactions inter;
  inter.user = {0, 0, 1, 2, 2};
  inter.item = {0, 2, 1, 3, 0};
  inter.timestamp = {1, 2, 1, 1, 2};
  inter.weight = {1, 1, 1, 1, 1};
  ftmamba::data::Split split;
  split.train = {0, 3};
  split.test = {1, 4};
  auto task = ftmamba::metrics::make_eval_task(inter, split, ftmamba::metrics::Target::Test);
  ASSERT_EQ(task.users, (std::vector<int64_t>{0, 2}));
  auto scores = torch::tensor({4.0f, 1.0f, 3.0f, 2.0f});
  ftmamba::metrics::ScoreFn fn = [&](const torch::Tensor& rows) { return scores.repeat({rows.size(0), 1}); };
  auto acc = ftmamba::metrics::rank_full_catalog(fn, task, 4, 1, {1, 2});
  // user 0: item 0 masked -> ranking 2,3,1: test item 2 at rank 1. user 2: item 3 masked -> 0,2,1: item 0 at 1.
  EXPECT_DOUBLE_EQ(acc.mean("HR", 1), 1.0);
  auto neg = ftmamba::metrics::draw_sampled_negatives(inter, task, 4, 2, 7);
  ASSERT_EQ(neg.sizes(), (std::vector<int64_t>{2, 2}));
  for (int64_t j = 0; j < 2; ++j) {  // user 0 saw items 0 and 2, so its negatives are 1 and 3
    const int64_t item = neg[0][j].item<int64_t>();
    EXPECT_TRUE(item == 1 || item == 3);
  }
  auto sampled = ftmamba::metrics::rank_sampled(fn, task, neg, 1, {1, 3});
  // user 0: item 2 (3.0) vs 1 (1.0) and 3 (2.0) -> rank 1; user 2: item 0 (4.0) vs unseen 1, 2 -> rank 1
  EXPECT_DOUBLE_EQ(sampled.mean("MRR", 3), 1.0);
}
