// The request parsers of the HTTP server (serve/request_json): valid bodies become typed requests (defaults, ids
// given as numbers, features as text the feature table reads back); every class of bad body is a RequestError
// with its status and the field at fault.
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "ftmamba/serve/request_json.h"

namespace serve = ftmamba::serve;

namespace {

serve::FeatureColumns user_columns() {
  serve::FeatureColumns c;
  c.numerical = {"age", "income"};
  c.categorical = {"country"};
  c.multi_valued = {"genres"};
  return c;
}

serve::RequestLimits limits() {
  serve::RequestLimits l;
  l.max_k = 50;
  l.max_batch = 3;
  l.max_body_bytes = 2000;
  return l;
}

// The RequestError that parsing `body` as a /recommend request throws: (field, status), or ("", 0) for none.
template <class Parse>
std::pair<std::string, int> refusal(Parse&& parse) {
  try {
    parse();
  } catch (const serve::RequestError& e) {
    return {e.field, e.status};
  }
  return {"", 0};
}

std::pair<std::string, int> recommend_refusal(const std::string& body) {
  return refusal([&] { serve::parse_recommend_request(body, user_columns(), limits()); });
}

std::string message_of(const std::string& body) {
  try {
    serve::parse_recommend_request(body, user_columns(), limits());
  } catch (const serve::RequestError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(RequestJson, AKnownUserWithDefaults) {
  const auto r = serve::parse_recommend_request(R"({"user_id": "U1"})", user_columns(), limits());
  EXPECT_EQ(r.user_id, "U1");
  EXPECT_FALSE(r.has_features);
  EXPECT_EQ(r.k, 10);
  EXPECT_TRUE(r.exclude_seen);
  EXPECT_TRUE(r.exclude.empty());
}

TEST(RequestJson, ANewUserWithEveryOption) {
  const auto r = serve::parse_recommend_request(
      R"({"features": {"age": 31, "income": "2.5e3", "country": "FR", "genres": ["rock", "jazz"]},
          "k": 7, "exclude_seen": false, "exclude": ["I1", 42]})",
      user_columns(), limits());
  EXPECT_TRUE(r.user_id.empty());
  EXPECT_TRUE(r.has_features);
  const serve::FeatureValues want{{"age", "31"}, {"country", "FR"}, {"genres", "rock|jazz"}, {"income", "2.5e3"}};
  EXPECT_EQ(r.features, want);  // nlohmann orders an object's keys
  EXPECT_EQ(r.k, 7);
  EXPECT_FALSE(r.exclude_seen);
  EXPECT_EQ(r.exclude, (std::vector<std::string>{"I1", "42"}));
}

TEST(RequestJson, NumbersKeepTheirValueAndNullIsMissing) {
  const auto r = serve::parse_recommend_request(R"({"user_id": 17, "features": {"age": 0.1, "country": null,
                                                   "income": -3}})",
                                                user_columns(), limits());
  EXPECT_EQ(r.user_id, "17");
  EXPECT_EQ(r.features, (serve::FeatureValues{{"age", "0.1"}, {"income", "-3"}}));
}

TEST(RequestJson, BatchSimilarAndItems) {
  const auto batch = serve::parse_batch_request(R"({"requests": [{"user_id": "U1", "k": 3}, {"features": {}}]})",
                                                user_columns(), limits());
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch[0].k, 3);
  EXPECT_TRUE(batch[1].has_features);
  EXPECT_TRUE(batch[1].features.empty());

  const auto similar = serve::parse_similar_items_request(R"({"item_id": "I9", "k": 4, "exclude": ["I2"]})", limits());
  EXPECT_EQ(similar.item_id, "I9");
  EXPECT_EQ(similar.k, 4);
  EXPECT_EQ(similar.exclude, std::vector<std::string>{"I2"});

  const auto items = serve::parse_items_request(
      R"({"items": [{"item_id": "N1", "features": {"age": 3}}, {"item_id": "N2", "features": {}}]})", user_columns(),
      limits());
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].item_id, "N1");
  EXPECT_EQ(items[0].features, (serve::FeatureValues{{"age", "3"}}));
  EXPECT_TRUE(items[1].features.empty());
}

TEST(RequestJson, MalformedJsonNamesTheBody) {
  for (const std::string body :
       {"", "{", "{\"user_id\": }", "[1, 2]", "\"U1\"", "{\"user_id\": \"U1\"} x", "{\"user_id\": \"\xff\"}"})
    EXPECT_EQ(recommend_refusal(body), (std::pair<std::string, int>{"body", 400})) << body;
  EXPECT_NE(message_of("{").find("malformed JSON"), std::string::npos);
  // Nesting deeper than any request needs is refused before parsing.
  std::string deep(100, '[');
  deep.append(100, ']');
  EXPECT_EQ(recommend_refusal(deep), (std::pair<std::string, int>{"body", 400}));
}

TEST(RequestJson, ABodyOverTheLimitIs413) {
  std::string big = R"({"user_id": ")";  // appended, not summed: GCC 12's -O3 array-bounds warning
  big.append(3000, 'u');
  big += "\"}";
  EXPECT_EQ(recommend_refusal(big), (std::pair<std::string, int>{"body", 413}));
}

TEST(RequestJson, AMissingOrEmptyIdNamesIt) {
  EXPECT_EQ(recommend_refusal("{}").first, "user_id");
  EXPECT_EQ(recommend_refusal(R"({"k": 3})").first, "user_id");
  EXPECT_EQ(recommend_refusal(R"({"user_id": ""})").first, "user_id");
  EXPECT_EQ(refusal([] { serve::parse_similar_items_request(R"({"k": 3})", limits()); }).first, "item_id");
  EXPECT_EQ(
      refusal([] { serve::parse_items_request(R"({"items": [{"features": {}}]})", user_columns(), limits()); }).first,
      "items[0].item_id");
  EXPECT_EQ(
      refusal([] { serve::parse_items_request(R"({"items": [{"item_id": "A"}]})", user_columns(), limits()); }).first,
      "items[0].features");
}

TEST(RequestJson, WrongTypesNameTheField) {
  EXPECT_EQ(recommend_refusal(R"({"user_id": ["U1"]})").first, "user_id");
  EXPECT_EQ(recommend_refusal(R"({"user_id": true})").first, "user_id");
  EXPECT_EQ(recommend_refusal(R"({"user_id": "U1", "k": "10"})").first, "k");
  EXPECT_EQ(recommend_refusal(R"({"user_id": "U1", "k": 2.5})").first, "k");
  EXPECT_EQ(recommend_refusal(R"({"user_id": "U1", "exclude_seen": 1})").first, "exclude_seen");
  EXPECT_EQ(recommend_refusal(R"({"user_id": "U1", "exclude": "I1"})").first, "exclude");
  EXPECT_EQ(recommend_refusal(R"({"user_id": "U1", "exclude": ["I1", {}]})").first, "exclude[1]");
  EXPECT_EQ(recommend_refusal(R"({"features": [1]})").first, "features");
  EXPECT_EQ(recommend_refusal(R"({"features": {"age": true}})").first, "features.age");
  EXPECT_EQ(recommend_refusal(R"({"features": {"age": "thirty"}})").first, "features.age");
  EXPECT_EQ(recommend_refusal(R"({"features": {"country": 2.5}})").first, "features.country");
  EXPECT_EQ(recommend_refusal(R"({"features": {"genres": ["a", ["b"]]}})").first, "features.genres[1]");
  EXPECT_EQ(recommend_refusal(R"({"features": {"genres": ["a|b"]}})").first, "features.genres");
  EXPECT_NE(message_of(R"({"user_id": "U1", "k": "10"})").find("must be a whole number, got a string"),
            std::string::npos);
}

TEST(RequestJson, NonFiniteNumbersAreRefused) {
  for (const std::string v : {R"("nan")", R"("NaN")", R"("inf")", R"("-Infinity")", R"("1e999")", "1e31", "-2e30"})
    EXPECT_EQ(recommend_refusal(R"({"features": {"age": )" + v + "}}").first, "features.age") << v;
  // A JSON number beyond a double never parses: the body is refused as malformed.
  for (const std::string v : {"1e999", "-1e400"})
    EXPECT_EQ(recommend_refusal(R"({"features": {"age": )" + v + "}}"), (std::pair<std::string, int>{"body", 400}))
        << v;
  EXPECT_NE(message_of(R"({"features": {"age": "nan"}})").find("not a finite number"), std::string::npos);
}

TEST(RequestJson, UnknownFieldsAndFeaturesAreNamed) {
  EXPECT_EQ(recommend_refusal(R"({"user_id": "U1", "exlude": []})").first, "exlude");
  EXPECT_EQ(recommend_refusal(R"({"features": {"height": 180}})").first, "features.height");
  EXPECT_EQ(recommend_refusal(R"({"features": {"height": null}})").first, "features.height");
  EXPECT_NE(message_of(R"({"features": {"height": 1}})").find("the features are: age, income, country, genres"),
            std::string::npos);
  EXPECT_EQ(refusal([] {
              serve::parse_batch_request(R"({"requests": [{"user_id": "U1"}], "extra": 1})", user_columns(), limits());
            }).first,
            "extra");
}

TEST(RequestJson, KOutOfRangeIsRefused) {
  for (const std::string k : {"0", "-1", "51", "18446744073709551615", "99999999999999999999"})
    EXPECT_EQ(recommend_refusal(R"({"user_id": "U1", "k": )" + k + "}").first, "k") << k;
  EXPECT_EQ(serve::parse_recommend_request(R"({"user_id": "U1", "k": 50})", user_columns(), limits()).k, 50);
  EXPECT_NE(message_of(R"({"user_id": "U1", "k": 51})").find("'k' must be in 1..50, got 51"), std::string::npos);
}

TEST(RequestJson, BatchesOverTheLimitOrEmptyAreRefused) {
  const auto batch = [](const std::string& body) {
    return refusal([&] { serve::parse_batch_request(body, user_columns(), limits()); });
  };
  EXPECT_EQ(batch(R"({"requests": [{"user_id": "a"}, {"user_id": "b"}, {"user_id": "c"}, {"user_id": "d"}]})").first,
            "requests");
  EXPECT_EQ(batch(R"({"requests": []})").first, "requests");
  EXPECT_EQ(batch(R"({})").first, "requests");
  EXPECT_EQ(batch(R"({"requests": {"user_id": "a"}})").first, "requests");
  EXPECT_EQ(batch(R"({"requests": [{"user_id": "a"}, {"user_id": "b", "k": 0}]})").first, "requests[1].k");
  EXPECT_EQ(batch(R"({"requests": [{"user_id": "a"}, 3]})").first, "requests[1]");
  EXPECT_EQ(refusal([] {
              serve::parse_items_request(R"({"items": [{"item_id": "A", "features": {}},
                                                       {"item_id": "A", "features": {}}]})",
                                         user_columns(), limits());
            }).first,
            "items[1].item_id");
}

TEST(RequestJson, ErrorJsonNamesMessageAndField) {
  const auto j = serve::error_json("bad k", "k");
  EXPECT_EQ(j.at("error"), "bad k");
  EXPECT_EQ(j.at("field"), "k");
}
