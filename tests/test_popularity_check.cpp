// Tests of the below-popularity warning: which headline metrics (full-catalog HR@10, NDCG@10) trigger it for one
// evaluation, and for a comparison, where a model's mean over its seeds is what counts.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "ftmamba/eval/popularity_check.h"
#include "ftmamba/experiments/comparison_input.h"
#include "ftmamba/experiments/comparison_popularity_check.h"

using nlohmann::json;
using nlohmann::ordered_json;

namespace {

ordered_json evaluation(double model_hr, double model_ndcg, double pop_hr, double pop_ndcg) {
  ordered_json e;
  e["test_users"] = 100;
  e["full"]["model"] = {{"HR@10", model_hr}, {"NDCG@10", model_ndcg}};
  e["full"]["popularity"] = {{"HR@10", pop_hr}, {"NDCG@10", pop_ndcg}};
  return e;
}

}  // namespace

TEST(PopularityCheck, NamesEachHeadlineMetricBelowPopularity) {
  const auto hr_only = ftmamba::eval::popularity_warning(evaluation(0.01, 0.04, 0.05, 0.02));
  ASSERT_TRUE(hr_only.has_value());
  EXPECT_EQ(*hr_only,
            "the model ranks below the popularity baseline on the full catalog (HR@10 0.0100 vs 0.0500): recommending "
            "the most popular items to everyone does better. On small data popularity is hard to beat; more data or "
            "more epochs (--set train.epochs=N) may help.");
  const auto both = ftmamba::eval::popularity_warning(evaluation(0.01, 0.004, 0.05, 0.02));
  ASSERT_TRUE(both.has_value());
  EXPECT_NE(both->find("(HR@10 0.0100 vs 0.0500, NDCG@10 0.0040 vs 0.0200)"), std::string::npos) << *both;
}

TEST(PopularityCheck, NoWarningAtOrAbovePopularityOrWithoutIt) {
  EXPECT_FALSE(ftmamba::eval::popularity_warning(evaluation(0.06, 0.03, 0.05, 0.02)).has_value());
  EXPECT_FALSE(ftmamba::eval::popularity_warning(evaluation(0.05, 0.02, 0.05, 0.02)).has_value());  // a tie
  ordered_json no_popularity = evaluation(0.01, 0.01, 0.05, 0.05);
  no_popularity["full"].erase("popularity");
  EXPECT_FALSE(ftmamba::eval::popularity_warning(no_popularity).has_value());
}

TEST(PopularityCheck, AComparisonJudgesEachModelByItsMeanOverSeeds) {
  json j;
  j["models"] = {"ft-mamba", "ft-transformer"};
  j["runs"] = json::array();
  // ft-mamba: one seed below popularity's 0.05, the mean (0.06) above. ft-transformer: mean 0.03, below.
  const std::vector<std::tuple<std::string, int, double>> runs = {
      {"ft-mamba", 1, 0.04}, {"ft-mamba", 2, 0.08}, {"ft-transformer", 1, 0.02}, {"ft-transformer", 2, 0.04}};
  for (const auto& [model, seed, hr] : runs)
    j["runs"].push_back({{"model", model}, {"seed", seed}, {"test", {{"full", {{"HR@10", hr}, {"NDCG@10", 0.5}}}}}});
  j["references"]["popularity"]["full"] = {{"HR@10", 0.05}, {"NDCG@10", 0.02}};
  const auto input = ftmamba::experiments::read_comparison_input(j);
  const auto warnings = ftmamba::experiments::comparison_popularity_warnings(input);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].rfind("ft-transformer (mean of 2 seeds) ranks below the popularity baseline on the full "
                              "catalog (HR@10 0.0300 vs 0.0500)",
                              0),
            0u)
      << warnings[0];
  j["references"].erase("popularity");
  EXPECT_TRUE(
      ftmamba::experiments::comparison_popularity_warnings(ftmamba::experiments::read_comparison_input(j)).empty());
}
