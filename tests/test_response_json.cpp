// defines: tests of the item-list bodies of the HTTP server (response_json.h): they parse as JSON with every field
// and value given, scores read back as the same float32, ids with quotes, backslashes, control characters or bytes
// that are not UTF-8 are escaped or replaced, never thrown on.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ftmamba/serve/response_json.h"

namespace {

using ftmamba::serve::Recommendations;
using ftmamba::serve::ScoredItem;
using nlohmann::json;

Recommendations sample(const std::string& user, bool cold) {
  Recommendations r;
  r.user = user;
  r.cold_start = cold;
  r.items = {{1, "I1", 0, static_cast<float>(0.26246073842048645)},
             {2, "quote\"back\\slash\ttab", 5, -1.5F},
             {3, "caf\xc3\xa9 \xff", 7, static_cast<float>(1e-8)}};
  return r;
}

TEST(ResponseJson, RecommendationsBodyHoldsEveryField) {
  const auto body = json::parse(ftmamba::serve::recommendations_body(sample("U1", false), "abc123", "hnsw M=32"));
  EXPECT_EQ(body["user_id"], "U1");
  EXPECT_EQ(body["cold_start"], false);
  EXPECT_EQ(body["model_version"], "abc123");
  EXPECT_EQ(body["index"], "hnsw M=32");
  ASSERT_EQ(body["items"].size(), 3u);
  const auto items = sample("U1", false).items;
  for (size_t i = 0; i < items.size(); ++i) {
    EXPECT_EQ(body["items"][i]["rank"], items[i].rank);
    // The float32 the search computed, exactly.
    EXPECT_EQ(static_cast<float>(body["items"][i]["score"].get<double>()), static_cast<float>(items[i].score));
  }
  EXPECT_EQ(body["items"][0]["item_id"], "I1");
  EXPECT_EQ(body["items"][1]["item_id"], "quote\"back\\slash\ttab");
  // The byte that is not UTF-8 is replaced; the valid é stays.
  EXPECT_EQ(body["items"][2]["item_id"], "caf\xc3\xa9 \xef\xbf\xbd");
}

TEST(ResponseJson, ANewUserWithoutALabelIsNull) {
  const auto body = json::parse(ftmamba::serve::recommendations_body(sample("", true), "v", "exact"));
  EXPECT_TRUE(body["user_id"].is_null());
  EXPECT_EQ(body["cold_start"], true);
}

TEST(ResponseJson, BatchAndSimilarItemsBodies) {
  const auto batch = json::parse(ftmamba::serve::batch_body({sample("A", false), sample("", true)}, "v", "exact"));
  ASSERT_EQ(batch["results"].size(), 2u);
  EXPECT_EQ(batch["results"][0]["user_id"], "A");
  EXPECT_TRUE(batch["results"][1]["user_id"].is_null());
  EXPECT_EQ(batch["results"][1]["items"].size(), 3u);
  EXPECT_EQ(batch["model_version"], "v");
  EXPECT_TRUE(json::parse(ftmamba::serve::batch_body({}, "v", "exact"))["results"].empty());

  const auto similar = json::parse(ftmamba::serve::similar_items_body("I\x01", sample("", false).items, "v", "exact"));
  EXPECT_EQ(similar["item_id"], "I\x01");
  EXPECT_EQ(similar["items"].size(), 3u);
  EXPECT_EQ(similar["index"], "exact");
}

}  // namespace
