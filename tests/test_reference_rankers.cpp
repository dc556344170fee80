// The reference rows' legend printed under the metrics table: one line per reference ranker present, in the
// table's order, and nothing for the models.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "ftmamba/eval/evaluate.h"
#include "ftmamba/eval/reference_rankers.h"

namespace eval = ftmamba::eval;

TEST(ReferenceRankers, TheLegendExplainsEachReferenceRowPresent) {
  nlohmann::ordered_json full;
  full["model"] = {{"HR@10", 0.3}};
  full["oracle"] = {{"HR@10", 0.25}};
  full["popularity"] = {{"HR@10", 0.06}};
  const std::string legend = eval::reference_legend(full);
  EXPECT_EQ(legend.rfind("Reference rows:\n", 0), 0u) << legend;
  const auto oracle = legend.find("  oracle: "), popularity = legend.find("  popularity: ");
  ASSERT_NE(oracle, std::string::npos) << legend;
  ASSERT_NE(popularity, std::string::npos) << legend;
  EXPECT_LT(oracle, popularity);
  EXPECT_NE(legend.find("can score above"), std::string::npos) << legend;
  std::istringstream lines(legend);
  for (std::string line; std::getline(lines, line);) EXPECT_LE(line.size(), eval::kLegendWidth) << line;
  EXPECT_NE(legend.find("\n    "), std::string::npos) << "a long entry continues on indented lines:\n" << legend;
  EXPECT_EQ(legend.find("true-utility"), std::string::npos) << legend;
  EXPECT_EQ(legend.find("  model:"), std::string::npos) << legend;
  EXPECT_EQ(eval::reference_legend({{"model", {{"HR@10", 0.3}}}}), "");
  EXPECT_NE(eval::reference_description("true-utility").find("real ceiling"), std::string::npos);
  EXPECT_EQ(eval::reference_description("ft-mamba"), "");
}
