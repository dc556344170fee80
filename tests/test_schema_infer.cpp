// Tests of `schema infer` (data/schema_infer.h): on a generated spotify dataset it finds the generator's ids,
// interaction columns and timestamp and mostly its feature types; on a MovieLens-like folder it finds the
// multi-valued genres, the rating as weight, the ISO timestamp and the ids, and training runs on what it wrote;
// and the single rules (ids by value, codes, separators, the sample limit, refusals) each on a small table.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "binary_runner.h"
#include "ftmamba/core/error.h"
#include "ftmamba/data/dataset.h"
#include "ftmamba/data/presets/preset.h"
#include "ftmamba/data/schema.h"
#include "ftmamba/data/schema_infer.h"
#include "ftmamba/experiments/train_run.h"
#include "ftmamba/io/atomic_file.h"

namespace fs = std::filesystem;
namespace data = ftmamba::data;
using data::ColumnRole;
using ftmamba::DataError;
using ftmamba::Error;

namespace {

class SchemaInferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("ftmamba_schema_infer_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const std::string& name, const std::string& text) const { std::ofstream(dir_ / name) << text; }

  // The decision for one column; fails the test when there is none.
  static data::ColumnDecision decision_of(const data::InferredSchema& s, const std::string& file,
                                          const std::string& column) {
    for (const auto& d : s.decisions)
      if (d.file == file && d.column == column) return d;
    ADD_FAILURE() << "no decision for " << file << " " << column;
    return {};
  }

  static bool contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  }

  fs::path dir_;
};

// users: user_id, age, gender, occupation; movies: movie_id, title, genres ("Action|Comedy"), year; ratings
// 1..5 with an ISO date-time. Eight ratings a user, so that training has validation and test items.
void write_movielens_like(const fs::path& dir) {
  const std::vector<std::string> genres = {"Action",   "Comedy", "Drama",     "Horror",      "Romance",
                                           "Thriller", "Sci-Fi", "Animation", "Documentary", "Crime"};
  const std::vector<std::string> occupations = {"student", "engineer", "artist",  "doctor",
                                                "writer",  "lawyer",   "retired", "other"};
  std::mt19937_64 rng(7);
  const auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  constexpr int kUsers = 150, kMovies = 160;  // more movies than eval.sampled_negatives (100)
  std::ofstream users(dir / "users.csv"), items(dir / "items.csv"), ratings(dir / "interactions.csv");
  users << "user_id,age,gender,occupation\n";
  for (int u = 1; u <= kUsers; ++u)
    users << u << "," << 16 + pick(55) << "," << (pick(2) == 0 ? "M" : "F") << "," << occupations[pick(8)] << "\n";
  items << "movie_id,title,genres,year\n";
  for (int m = 1; m <= kMovies; ++m) {
    std::vector<std::string> g = genres;
    std::shuffle(g.begin(), g.end(), rng);
    std::string cell = g[0];
    const int extra = pick(3);  // 1 to 3 genres
    for (int k = 1; k <= extra; ++k) {
      cell += '|';
      cell += g[k];
    }
    const int year = 1950 + pick(70);
    items << m << ",\"Movie " << m << ", The (" << year << ")\"," << cell << "," << year << "\n";
  }
  ratings << "user_id,movie_id,rating,timestamp\n";
  for (int u = 1; u <= kUsers; ++u)
    for (int k = 0; k < 8; ++k) {
      char when[32];
      std::snprintf(when, sizeof when, "2021-%02d-%02dT%02d:%02d:00", 1 + k, 1 + pick(28), pick(24), pick(60));
      ratings << u << "," << 1 + pick(kMovies) << "," << 1 + pick(5) << "," << when << "\n";
    }
}

TEST_F(SchemaInferTest, GeneratedSpotifyDatasetGetsTheGeneratorsRoles) {
  const fs::path d = dir_ / "spotify";
  data::generate_dataset("spotify", data::GenerateOptions(3000, 1), d);
  const data::Schema truth = data::Schema::load(d / "schema.toml");
  fs::remove(d / "schema.toml");

  const data::InferredSchema inferred = data::infer_schema(d);
  const data::Schema& s = inferred.schema;
  EXPECT_EQ(s.users.id, truth.users.id);
  EXPECT_EQ(s.items.id, truth.items.id);
  EXPECT_EQ(s.interactions.user, truth.interactions.user);
  EXPECT_EQ(s.interactions.item, truth.interactions.item);
  EXPECT_EQ(s.interactions.timestamp, truth.interactions.timestamp);
  EXPECT_EQ(s.interactions.weight, truth.interactions.weight);

  // Every feature the generator lists is a feature here too; where the type differs, it must be a numeric
  // column of few whole numbers read as codes (the one rule that may disagree with the generator).
  const auto role_in = [](const data::TableSchema& t, const std::string& column) {
    if (std::count(t.numerical.begin(), t.numerical.end(), column)) return ColumnRole::kNumerical;
    if (std::count(t.categorical.begin(), t.categorical.end(), column)) return ColumnRole::kCategorical;
    if (std::count(t.multi_valued.begin(), t.multi_valued.end(), column)) return ColumnRole::kMultiValued;
    return ColumnRole::kSkipped;
  };
  int compared = 0, differences = 0;
  for (const auto& [file, truth_side, side] :
       {std::tuple{"users.csv", &truth.users, &s.users}, std::tuple{"items.csv", &truth.items, &s.items}}) {
    std::vector<std::string> features = truth_side->numerical;
    features.insert(features.end(), truth_side->categorical.begin(), truth_side->categorical.end());
    for (const auto& column : features) {
      ++compared;
      const ColumnRole want = role_in(*truth_side, column), got = role_in(*side, column);
      if (want == got) continue;
      ++differences;
      const data::ColumnDecision why = decision_of(inferred, file, column);
      std::printf("differs: %s %s: generator %s, inferred %s (%s)\n", file, column.c_str(),
                  ftmamba::enum_name(want).c_str(), ftmamba::enum_name(got).c_str(), why.reason.c_str());
      EXPECT_EQ(want, ColumnRole::kNumerical) << column;
      EXPECT_EQ(got, ColumnRole::kCategorical) << column;
      EXPECT_NE(why.reason.find("codes"), std::string::npos) << column << ": " << why.reason;
    }
  }
  std::printf("%d of %d feature columns have the generator's type\n", compared - differences, compared);
  EXPECT_EQ(compared, 22);
  EXPECT_LE(differences, 2);

  // What is written loads, and the dataset loads with it.
  data::SchemaInferRequest request;
  request.data_dir = d;
  const data::SchemaInferResult written = data::write_inferred_schema(request);
  EXPECT_EQ(written.written, d / "schema.toml");
  const data::Dataset loaded = data::Dataset::load(d);
  EXPECT_EQ(loaded.interactions.size(), 3000);
  EXPECT_EQ(loaded.users.numerical_names, s.users.numerical);
  EXPECT_EQ(loaded.items.categorical_names, s.items.categorical);
}

TEST_F(SchemaInferTest, MovieLensLikeFolderGetsGenresRatingTimestampAndIdsAndTrains) {
  const fs::path d = dir_ / "movies";  // the run goes beside it: an output may not lie inside its input
  fs::create_directories(d);
  write_movielens_like(d);
  data::SchemaInferRequest request;
  request.data_dir = d;
  const data::SchemaInferResult result = data::write_inferred_schema(request);
  for (const auto& d : result.inferred.decisions)
    std::printf("%s  %s  %s  %s\n", d.file.c_str(), d.column.c_str(), ftmamba::enum_name(d.role).c_str(),
                d.reason.c_str());

  const data::Schema s = data::Schema::load(d / "schema.toml");
  EXPECT_EQ(s.users.id, "user_id");
  EXPECT_EQ(s.items.id, "movie_id");
  EXPECT_EQ(s.interactions.user, "user_id");
  EXPECT_EQ(s.interactions.item, "movie_id");
  EXPECT_EQ(s.interactions.timestamp, std::optional<std::string>("timestamp"));
  EXPECT_EQ(s.interactions.weight, std::optional<std::string>("rating"));
  EXPECT_EQ(s.items.multi_valued, std::vector<std::string>{"genres"});
  EXPECT_EQ(s.items.separator, "|");
  EXPECT_EQ(s.items.numerical, std::vector<std::string>{"year"});
  EXPECT_TRUE(s.items.categorical.empty());  // the title is one value a movie: skipped
  EXPECT_EQ(s.users.numerical, std::vector<std::string>{"age"});
  EXPECT_EQ(s.users.categorical, (std::vector<std::string>{"gender", "occupation"}));
  EXPECT_TRUE(s.users.multi_valued.empty());
  EXPECT_EQ(decision_of(result.inferred, "items.csv", "title").role, ColumnRole::kSkipped);
  EXPECT_NE(decision_of(result.inferred, "items.csv", "title").reason.find("identifier-like"), std::string::npos);
  EXPECT_EQ(decision_of(result.inferred, "interactions.csv", "timestamp").reason, "ISO dates with time");
  EXPECT_NE(decision_of(result.inferred, "items.csv", "genres").reason.find("10 distinct values"), std::string::npos);

  ftmamba::experiments::TrainRequest train;
  train.data_dir = d;
  train.out_dir = dir_ / "run";
  train.config.sets = {"train.epochs=1", "model.d_token=8", "model.embed_dim=8", "train.threads=2"};
  train.device = "cpu";
  train.quiet = true;
  const auto outcome = ftmamba::experiments::train_run(train);
  ASSERT_TRUE(outcome.run.has_value());
  EXPECT_EQ(outcome.setup.data.users, 150);
  EXPECT_EQ(outcome.setup.data.items, 160);
  const double hr10 = outcome.run->metrics.test_metric("full", "model", "HR@10");
  EXPECT_TRUE(std::isfinite(hr10) && hr10 >= 0 && hr10 <= 1) << hr10;
  EXPECT_TRUE(fs::exists(dir_ / "run" / "model.safetensors"));
}

TEST_F(SchemaInferTest, IdsAreFoundByValuesWhenTheNamesDiffer) {
  // Both id columns hold 1..N, so a rating of 1..5 is as fully "ids" as the user column: the column with more
  // linked values wins, and each side links to its own column.
  std::ostringstream users, items, inter;
  users << "user_id,age\n";
  items << "movie_id,year\n";
  inter << "who,stars,what\n";
  for (int u = 1; u <= 40; ++u) users << u << "," << 18 + u << "\n";
  for (int m = 1; m <= 30; ++m) items << m << "," << 1960 + m << "\n";
  for (int u = 1; u <= 40; ++u)
    for (int k = 0; k < 3; ++k) inter << u << "," << 1 + (u + k) % 5 << "," << 1 + (u * 7 + k) % 30 << "\n";
  write("users.csv", users.str());
  write("items.csv", items.str());
  write("interactions.csv", inter.str());
  const data::InferredSchema s = data::infer_schema(dir_);
  EXPECT_EQ(s.schema.users.id, "user_id");
  EXPECT_EQ(s.schema.items.id, "movie_id");
  EXPECT_EQ(s.schema.interactions.user, "who");
  EXPECT_EQ(s.schema.interactions.item, "what");
  EXPECT_FALSE(s.schema.interactions.weight.has_value());  // "stars" is not named like a weight
  EXPECT_FALSE(s.schema.interactions.timestamp.has_value());
  EXPECT_EQ(decision_of(s, "interactions.csv", "stars").role, ColumnRole::kSkipped);
  EXPECT_NE(decision_of(s, "users.csv", "user_id").reason.find("'who' holds its values"), std::string::npos);
}

TEST_F(SchemaInferTest, FewWholeNumbersAreCodesAndOtherNumbersAreNumerical) {
  std::ostringstream users;
  users << "user_id,level,height,visits,nickname,newsletter,plan\n";
  for (int u = 0; u < 100; ++u)
    users << "u" << u << "," << 1 + u % 5 << "," << 150 + u % 7 << ".5," << u * 3 << ",nick" << u << ","
          << (u % 3 == 0 ? "1.0" : "") << "," << (u % 2 == 0 ? "free" : "premium") << "\n";
  write("users.csv", users.str());
  write("items.csv", "item_id\ni1\ni2\n");
  write("interactions.csv", "user_id,item_id\nu1,i1\nu2,i2\n");
  const data::InferredSchema s = data::infer_schema(dir_);
  EXPECT_EQ(s.schema.users.numerical, (std::vector<std::string>{"height", "visits"}));
  EXPECT_EQ(s.schema.users.categorical, (std::vector<std::string>{"level", "newsletter", "plan"}));
  const auto level = decision_of(s, "users.csv", "level");
  EXPECT_EQ(level.role, ColumnRole::kCategorical);
  EXPECT_NE(level.reason.find("only 5 distinct values (1, 2, 3, 4, 5)"), std::string::npos) << level.reason;
  EXPECT_NE(decision_of(s, "users.csv", "newsletter").reason.find("a flag"), std::string::npos);
  EXPECT_EQ(decision_of(s, "users.csv", "nickname").role, ColumnRole::kSkipped);
  EXPECT_EQ(decision_of(s, "users.csv", "plan").reason, "text, 2 distinct values");
  EXPECT_EQ(decision_of(s, "users.csv", "visits").reason, "every non-empty cell is a number (100 distinct)");
}

TEST_F(SchemaInferTest, SeparatorsAreFoundInsideQuotedFieldsAndFreeTextIsNotSplit) {
  // Two values a cell out of six: 36 combinations, whose single values repeat six times as often.
  const std::vector<std::string> v = {"rock", "pop", "jazz", "folk", "metal", "soul"};
  const auto pair = [&](int i, const char* sep) {
    std::ostringstream os;
    os << v[i % 6] << sep << v[(i / 6) % 6];
    return os.str();
  };
  std::ostringstream items, users;
  items << "item_id,tags,instruments,blurb,kind\n";
  for (int i = 0; i < 60; ++i)
    items << "i" << i << ",\"" << pair(i, ", ") << "\",\"" << pair(i + 3, ",") << "\",\"Song number " << i
          << ", recorded live in hall " << i * 13 << "\"," << pair(i + 1, ";") << "\n";
  users << "user_id,moods\n";
  for (int u = 0; u < 60; ++u) users << "u" << u << "," << pair(u, ";") << "\n";
  write("items.csv", items.str());
  write("users.csv", users.str());
  write("interactions.csv", "user_id,item_id\nu1,i1\nu2,i2\nu3,i3\n");
  const data::InferredSchema s = data::infer_schema(dir_);
  EXPECT_EQ(s.schema.items.multi_valued, (std::vector<std::string>{"tags", "instruments"}));
  EXPECT_EQ(s.schema.items.separator, ",");
  EXPECT_EQ(decision_of(s, "items.csv", "blurb").role, ColumnRole::kSkipped);
  // kind splits on ';' just as well, but the table's one separator is the ',' of two columns.
  EXPECT_EQ(s.schema.items.categorical, std::vector<std::string>{"kind"});
  EXPECT_NE(decision_of(s, "items.csv", "kind").reason.find("one separator a table"), std::string::npos);
  EXPECT_EQ(s.schema.users.multi_valued, std::vector<std::string>{"moods"});
  EXPECT_EQ(s.schema.users.separator, ";");
  EXPECT_EQ(decision_of(s, "items.csv", "tags").reason,
            "all 60 cells hold ','-separated values; 6 distinct values (up to 2 a cell)");
}

TEST_F(SchemaInferTest, NumericTimestampIsFoundByNameAndOtherNumbersAreNotUsed) {
  write("users.csv", "user_id\nu1\nu2\n");
  write("items.csv", "item_id\ni1\ni2\n");
  write("interactions.csv",
        "user_id,item_id,price,unixTime,play_count\nu1,i1,9.5,1600000000,3\nu2,i2,1.5,1600000100,0\n"
        "u1,i2,2,1600000200,1\n");
  const data::InferredSchema s = data::infer_schema(dir_);
  EXPECT_EQ(s.schema.interactions.timestamp, std::optional<std::string>("unixTime"));
  EXPECT_EQ(s.schema.interactions.weight, std::optional<std::string>("play_count"));
  EXPECT_EQ(decision_of(s, "interactions.csv", "price").role, ColumnRole::kSkipped);
  EXPECT_EQ(decision_of(s, "interactions.csv", "unixTime").reason, "numbers, named like a time (larger = later)");
}

TEST_F(SchemaInferTest, NegativeWeightsAndMissingTimestampsAreNotChosen) {
  write("users.csv", "user_id\nu1\nu2\n");
  write("items.csv", "item_id\ni1\ni2\n");
  write("interactions.csv", "user_id,item_id,date,score\nu1,i1,2020-01-01,3\nu2,i2,,-1\nu1,i2,2020-01-03,2\n");
  const data::InferredSchema s = data::infer_schema(dir_);
  EXPECT_FALSE(s.schema.interactions.timestamp.has_value());
  EXPECT_FALSE(s.schema.interactions.weight.has_value());
  EXPECT_NE(decision_of(s, "interactions.csv", "date").reason.find("but 1 empty cell (first on line 3)"),
            std::string::npos);
  EXPECT_NE(decision_of(s, "interactions.csv", "score").reason.find("'-1' on line 3"), std::string::npos);
}

TEST_F(SchemaInferTest, OnlyTheSampledRowsAreRead) {
  std::ostringstream users;
  users << "user_id,age\n";
  for (int u = 0; u < 50; ++u) users << "u" << u << "," << 20 + u << "\n";
  users << "u50,1,surplus\n";  // line 52: one field too many
  write("users.csv", users.str());
  write("items.csv", "item_id\ni1\ni2\n");
  write("interactions.csv", "user_id,item_id\nu1,i1\nu2,i2\n");
  const data::InferredSchema s = data::infer_schema(dir_, 50);
  EXPECT_EQ(s.schema.users.id, "user_id");
  EXPECT_EQ(s.sampled_files, std::vector<std::string>{"users.csv"});
  EXPECT_NE(decision_of(s, "users.csv", "user_id").reason.find("the first 50 rows"), std::string::npos);
  try {
    data::infer_schema(dir_, 51);
    ADD_FAILURE() << "the malformed row 51 was not read";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("users.csv:52"), std::string::npos) << e.what();
  }
}

TEST_F(SchemaInferTest, NoIdColumnIsAnErrorNamingTheFile) {
  write("users.csv", "user_id,age\nu1,30\nu2,40\n");
  write("items.csv", "item_id\ni1\ni2\n");
  write("interactions.csv", "customer,item_id\nc1,i1\nc2,i2\n");
  try {
    data::infer_schema(dir_);
    ADD_FAILURE() << "no error";
  } catch (const DataError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("users.csv:1: no column can be the users' id"), std::string::npos) << what;
    EXPECT_NE(what.find("(here: user_id, age)"), std::string::npos) << what;
  }
}

TEST_F(SchemaInferTest, AnExistingSchemaIsReplacedOnlyWithForce) {
  write_movielens_like(dir_);
  ftmamba::io::write_file_atomic(dir_ / "schema.toml", "# mine\n");
  data::SchemaInferRequest request;
  request.data_dir = dir_;
  EXPECT_THROW(data::write_inferred_schema(request), Error);
  EXPECT_EQ(ftmamba::io::read_file(dir_ / "schema.toml"), "# mine\n");
  request.force = true;
  data::write_inferred_schema(request);
  EXPECT_EQ(data::Schema::load(dir_ / "schema.toml").items.multi_valued, std::vector<std::string>{"genres"});
}

TEST_F(SchemaInferTest, CommandPrintsOneLinePerColumnAndRefusesToOverwrite) {
  write_movielens_like(dir_);
  std::string args = "schema infer --data ";
  args += dir_.string();
  const auto first = ftmamba_test::run_binary(args);
  ASSERT_EQ(first.code, 0) << first.out;
  EXPECT_NE(first.out.find("items.csv         genres      multi_valued  "), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("interactions.csv  rating      weight        numbers from 1 to 5"), std::string::npos)
      << first.out;
  std::string wrote = "wrote ";
  wrote += (dir_ / "schema.toml").string();
  EXPECT_NE(first.out.find(wrote), std::string::npos) << first.out;
  const std::string written = ftmamba::io::read_file(dir_ / "schema.toml");

  const auto again = ftmamba_test::run_binary(args);
  EXPECT_EQ(again.code, 1) << again.out;
  EXPECT_NE(again.out.find("already exists; pass --force"), std::string::npos) << again.out;
  EXPECT_EQ(ftmamba::io::read_file(dir_ / "schema.toml"), written);

  const auto elsewhere = ftmamba_test::run_binary(args + " --out " + (dir_ / "other.toml").string());
  EXPECT_EQ(elsewhere.code, 0) << elsewhere.out;
  EXPECT_EQ(ftmamba::io::read_file(dir_ / "other.toml"), written);
  EXPECT_EQ(ftmamba_test::run_binary(args + " --force --sample 0").code, 2);
}

}  // namespace
