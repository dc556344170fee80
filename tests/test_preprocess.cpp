// Tests for FeatureEncoding (statistics, vocabularies, transform, JSON round trip), EncodedFeatures and
// feature_table_from_pairs.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "ftmamba/core/error.h"
#include "ftmamba/data/preprocess.h"

using ftmamba::Error;
using ftmamba::data::EncodedFeatures;
using ftmamba::data::FeatureEncoding;
using ftmamba::data::FeatureTable;
using ftmamba::data::TableSchema;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Six entities; rows 0,1,2,3,5 are the "training" rows, row 4 is held out and has unseen values.
FeatureTable sample_table() {
  FeatureTable t;
  t.ids = {"e0", "e1", "e2", "e3", "e4", "e5"};
  for (int64_t r = 0; r < 6; ++r) t.index[t.ids[r]] = r;
  t.numerical_names = {"age", "score"};
  t.categorical_names = {"color", "size"};
  t.numerical = {10,   kNaN,  //
                 20,   1,     //
                 kNaN, 3,     //
                 40,   kNaN,  //
                 1000, 100,   //
                 30,   5};
  t.categorical = {"red",    "S",  //
                   "blue",   "M",  //
                   "red",    "",   //
                   "green",  "S",  //
                   "purple", "L",  //
                   "blue",   "M"};
  return t;
}

const std::vector<int64_t> kTrainRows = {0, 1, 2, 3, 5};

}  // namespace

TEST(FeatureEncoding, StandardisesOverGivenRowsIgnoringMissing) {
  const FeatureEncoding e = FeatureEncoding::fit(sample_table(), kTrainRows, 1);
  EXPECT_EQ(e.numerical_names, (std::vector<std::string>{"age", "score"}));
  ASSERT_EQ(e.mean.size(), 2u);
  // age over 10, 20, 40, 30 (row 4's 1000 is not a training row): mean 25, population variance 125.
  EXPECT_DOUBLE_EQ(e.mean[0], 25.0);
  EXPECT_DOUBLE_EQ(e.std[0], std::sqrt(125.0));
  // score over 1, 3, 5: mean 3, variance 8/3.
  EXPECT_DOUBLE_EQ(e.mean[1], 3.0);
  EXPECT_DOUBLE_EQ(e.std[1], std::sqrt(8.0 / 3.0));
}

TEST(FeatureEncoding, ConstantColumnGetsStdFloorAndAllMissingGetsUnitScale) {
  FeatureTable t = sample_table();
  for (int64_t r = 0; r < 6; ++r) {
    t.numerical[r * 2 + 0] = 7.0;   // constant
    t.numerical[r * 2 + 1] = kNaN;  // all missing
  }
  const FeatureEncoding e = FeatureEncoding::fit(t, kTrainRows, 1);
  EXPECT_EQ(e.mean[0], 7.0);
  EXPECT_EQ(e.std[0], 1e-6);
  EXPECT_EQ(e.mean[1], 0.0);
  EXPECT_EQ(e.std[1], 1.0);
  const EncodedFeatures x = e.transform(t);
  EXPECT_EQ(x.numerical[0][0].item<float>(), 0.0f);
  EXPECT_EQ(x.missing[0][1].item<float>(), 1.0f);
}

TEST(FeatureEncoding, VocabularyIsSortedByCountThenText) {
  const FeatureEncoding e = FeatureEncoding::fit(sample_table(), kTrainRows, 1);
  EXPECT_EQ(e.categorical_names, (std::vector<std::string>{"color", "size"}));
  ASSERT_EQ(e.vocab.size(), 2u);
  // red 2, blue 2, green 1: equal counts order by text; "purple" is only in the held-out row.
  EXPECT_EQ(e.vocab[0], (std::vector<std::string>{"", "blue", "red", "green"}));
  // S 2, M 2; the missing "" is not a category.
  EXPECT_EQ(e.vocab[1], (std::vector<std::string>{"", "M", "S"}));
  EXPECT_EQ(e.offsets, (std::vector<int64_t>{0, 4}));
  EXPECT_EQ(e.cardinalities(), (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(e.total_categories(), 7);
  EXPECT_EQ(e.min_frequency, 1);
}

TEST(FeatureEncoding, MinFrequencySendsRareCategoriesToUnknown) {
  const FeatureEncoding e = FeatureEncoding::fit(sample_table(), kTrainRows, 2);
  EXPECT_EQ(e.vocab[0], (std::vector<std::string>{"", "blue", "red"}));  // green (1) dropped
  EXPECT_EQ(e.vocab[1], (std::vector<std::string>{"", "M", "S"}));
  EXPECT_EQ(e.offsets, (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(e.total_categories(), 6);
  const FeatureEncoding none = FeatureEncoding::fit(sample_table(), kTrainRows, 3);
  EXPECT_EQ(none.vocab[0], (std::vector<std::string>{""}));
  EXPECT_EQ(none.offsets, (std::vector<int64_t>{0, 1}));
}

TEST(FeatureEncoding, TransformStandardisesAndOffsetsCategories) {
  const FeatureTable t = sample_table();
  const FeatureEncoding e = FeatureEncoding::fit(t, kTrainRows, 2);
  const EncodedFeatures x = e.transform(t);
  ASSERT_EQ(x.size(), 6);
  EXPECT_EQ(x.numerical.sizes(), (std::vector<int64_t>{6, 2}));
  EXPECT_EQ(x.numerical.dtype(), torch::kFloat32);
  EXPECT_EQ(x.missing.dtype(), torch::kFloat32);
  EXPECT_EQ(x.categorical.dtype(), torch::kInt64);

  const double sd_age = std::sqrt(125.0), sd_score = std::sqrt(8.0 / 3.0);
  const auto num = x.numerical.accessor<float, 2>();
  const auto miss = x.missing.accessor<float, 2>();
  EXPECT_FLOAT_EQ(num[0][0], static_cast<float>((10 - 25) / sd_age));
  EXPECT_EQ(num[0][1], 0.0f);  // missing score -> the (standardised) mean
  EXPECT_EQ(miss[0][1], 1.0f);
  EXPECT_EQ(miss[0][0], 0.0f);
  EXPECT_EQ(num[2][0], 0.0f);
  EXPECT_EQ(miss[2][0], 1.0f);
  EXPECT_FLOAT_EQ(num[4][0], static_cast<float>((1000 - 25) / sd_age));  // held-out rows use training stats
  EXPECT_FLOAT_EQ(num[4][1], static_cast<float>((100 - 3) / sd_score));
  EXPECT_EQ(x.missing.sum().item<float>(), 3.0f);

  // color: "" 0, blue 1, red 2 (offset 0); size: "" 3, M 4, S 5 (offset 3).
  const std::vector<std::vector<int64_t>> want = {
      {2, 5},  // red, S
      {1, 4},  // blue, M
      {2, 3},  // red, missing
      {0, 5},  // green is rare -> unknown
      {0, 3},  // purple and L never seen in training -> unknown
      {1, 4},
  };
  const auto cat = x.categorical.accessor<int64_t, 2>();
  for (int64_t r = 0; r < 6; ++r) {
    for (int64_t j = 0; j < 2; ++j) EXPECT_EQ(cat[r][j], want[r][j]) << "row " << r << " feature " << j;
  }
}

TEST(FeatureEncoding, TransformMatchesColumnsByName) {
  const FeatureTable t = sample_table();
  const FeatureEncoding e = FeatureEncoding::fit(t, kTrainRows, 1);
  // The same data with the columns in another order and an extra column.
  FeatureTable p;
  p.ids = t.ids;
  p.index = t.index;
  p.numerical_names = {"extra", "score", "age"};
  p.categorical_names = {"size", "color"};
  for (int64_t r = 0; r < 6; ++r) {
    p.numerical.insert(p.numerical.end(), {-1.0, t.num(r, 1), t.num(r, 0)});
    p.categorical.insert(p.categorical.end(), {t.cat(r, 1), t.cat(r, 0)});
  }
  const EncodedFeatures a = e.transform(t), b = e.transform(p);
  EXPECT_TRUE(torch::equal(a.numerical, b.numerical));
  EXPECT_TRUE(torch::equal(a.missing, b.missing));
  EXPECT_TRUE(torch::equal(a.categorical, b.categorical));

  FeatureTable lacking = t;
  lacking.categorical_names = {"color", "shape"};
  try {
    e.transform(lacking);
    FAIL() << "no error";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("'size'"), std::string::npos) << err.what();
  }
}

TEST(FeatureEncoding, FitRejectsBadArguments) {
  EXPECT_THROW(FeatureEncoding::fit(sample_table(), {0, 6}, 1), Error);
  EXPECT_THROW(FeatureEncoding::fit(sample_table(), {-1}, 1), Error);
  EXPECT_THROW(FeatureEncoding::fit(sample_table(), kTrainRows, 0), Error);
}

TEST(FeatureEncoding, JsonRoundTripIsExact) {
  FeatureTable t = sample_table();
  t.numerical[0] = 1.0 / 3.0;  // means and stds that need all 17 digits
  t.numerical[3] = 0.1;
  t.categorical[0] =
      "r\xC3\xA9"
      "d \"quoted\"";
  const FeatureEncoding e = FeatureEncoding::fit(t, kTrainRows, 1);
  const nlohmann::json j = e.to_json();
  // color: "", blue (2), green, red, the renamed row-0 value (1 each, by text) -> size starts at 5.
  EXPECT_EQ(e.vocab[0], (std::vector<std::string>{"", "blue", "green", "red",
                                                  "r\xC3\xA9"
                                                  "d \"quoted\""}));
  EXPECT_EQ(j["categorical"][1]["offset"], 5);
  const FeatureEncoding back = FeatureEncoding::from_json(nlohmann::json::parse(j.dump()));
  EXPECT_EQ(back.numerical_names, e.numerical_names);
  EXPECT_EQ(back.mean, e.mean);  // bitwise equal doubles
  EXPECT_EQ(back.std, e.std);
  EXPECT_EQ(back.categorical_names, e.categorical_names);
  EXPECT_EQ(back.vocab, e.vocab);
  EXPECT_EQ(back.offsets, e.offsets);
  EXPECT_EQ(back.min_frequency, e.min_frequency);
  EXPECT_EQ(back.to_json().dump(), j.dump());
  const EncodedFeatures a = e.transform(t), b = back.transform(t);
  EXPECT_TRUE(torch::equal(a.numerical, b.numerical));
  EXPECT_TRUE(torch::equal(a.categorical, b.categorical));
}

TEST(FeatureEncoding, FromJsonRejectsMalformedInput) {
  const nlohmann::json good = FeatureEncoding::fit(sample_table(), kTrainRows, 1).to_json();
  const auto error_of = [](const nlohmann::json& j) -> std::string {
    try {
      FeatureEncoding::from_json(j);
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  nlohmann::json j = good;
  j.erase("numerical");
  EXPECT_NE(error_of(j).find("'numerical'"), std::string::npos) << error_of(j);
  j = good;
  j["categorical"][1]["vocab"][0] = "M";
  EXPECT_NE(error_of(j).find("'categorical[1].vocab'"), std::string::npos) << error_of(j);
  j = good;
  j["categorical"][1]["offset"] = 3;
  EXPECT_NE(error_of(j).find("'categorical[1].offset'"), std::string::npos) << error_of(j);
  j = good;
  j["numerical"][0]["std"] = "big";
  EXPECT_NE(error_of(j).find("'numerical[0].std'"), std::string::npos) << error_of(j);
  j = good;
  j["numerical"][1]["std"] = 0.0;
  EXPECT_NE(error_of(j).find("'numerical[1].std'"), std::string::npos) << error_of(j);
  EXPECT_NE(error_of(nlohmann::json::array()).find("expected an object"), std::string::npos);
}

TEST(EncodedFeatures, IndexSelectPicksRows) {
  const FeatureTable t = sample_table();
  const EncodedFeatures x = FeatureEncoding::fit(t, kTrainRows, 1).transform(t);
  const EncodedFeatures s = x.index_select(torch::tensor({4, 0, 4}, torch::kInt64));
  ASSERT_EQ(s.size(), 3);
  EXPECT_TRUE(torch::equal(s.numerical[0], x.numerical[4]));
  EXPECT_TRUE(torch::equal(s.numerical[1], x.numerical[0]));
  EXPECT_TRUE(torch::equal(s.missing[1], x.missing[0]));
  EXPECT_TRUE(torch::equal(s.categorical[2], x.categorical[4]));
  EXPECT_TRUE(torch::equal(s.categorical[1], x.categorical[0]));
}

TEST(FeatureTableFromPairs, BuildsOneRowWithMissingDefaults) {
  const TableSchema schema{"user_id", {"age", "score"}, {"color", "size"}, {}, "|"};
  const FeatureTable t = ftmamba::data::feature_table_from_pairs("new", schema, {{"age", " 42 "}, {"color", "red"}});
  ASSERT_EQ(t.size(), 1);
  EXPECT_EQ(t.ids[0], "new");
  EXPECT_EQ(t.index.at("new"), 0);
  EXPECT_EQ(t.numerical_names, schema.numerical);
  EXPECT_EQ(t.categorical_names, schema.categorical);
  EXPECT_EQ(t.num(0, 0), 42.0);
  EXPECT_TRUE(std::isnan(t.num(0, 1)));
  EXPECT_EQ(t.cat(0, 0), "red");
  EXPECT_EQ(t.cat(0, 1), "");

  // Encoded with a fitted encoding: known category, missing numerical, unknown size.
  const FeatureEncoding e = FeatureEncoding::fit(sample_table(), kTrainRows, 1);
  const EncodedFeatures x = e.transform(t);
  EXPECT_FLOAT_EQ(x.numerical[0][0].item<float>(), static_cast<float>((42 - 25) / std::sqrt(125.0)));
  EXPECT_EQ(x.missing[0][1].item<float>(), 1.0f);
  EXPECT_EQ(x.categorical[0][0].item<int64_t>(), 2);  // red
  EXPECT_EQ(x.categorical[0][1].item<int64_t>(), 4);  // size's unknown bucket
}

TEST(FeatureTableFromPairs, RejectsUnknownNamesAndBadNumbers) {
  const TableSchema schema{"user_id", {"age"}, {"color"}, {}, "|"};
  const auto error_of = [&](const std::vector<std::pair<std::string, std::string>>& pairs) -> std::string {
    try {
      ftmamba::data::feature_table_from_pairs("x", schema, pairs);
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_EQ(error_of({{"colour", "red"}}), "unknown feature 'colour' (the features are: age, color)");
  EXPECT_EQ(error_of({{"age", "abc"}}), "feature 'age': not a number: 'abc'");
  EXPECT_EQ(error_of({{"age", "nan"}}), "feature 'age': not a finite number: 'nan'");
  EXPECT_EQ(error_of({{"age", "1e999"}}), "feature 'age': number out of range: '1e999'");
  EXPECT_EQ(error_of({{"user_id", "u1"}}), "'user_id' is the id column, not a feature");
  EXPECT_EQ(error_of({{"age", "1"}, {"age", "2"}}), "feature 'age' is given twice");
}
