// Tests for the synthetic-dataset generator: folder contents load and validate, exact counts, no
// duplicate pairs, determinism, error handling, and that the oracle is informative but not trivial.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>

#include "ftmamba/core/error.h"
#include "ftmamba/data/dataset.h"
#include "ftmamba/data/generator.h"
#include "ftmamba/data/generator/dataset_writer.h"
#include "ftmamba/data/generator/drift.h"
#include "ftmamba/data/generator/effect_eval.h"
#include "ftmamba/data/presets/preset.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/io/safetensors.h"

namespace fs = std::filesystem;
namespace data = ftmamba::data;
using ftmamba::Error;

namespace {

constexpr int64_t kPairs = 6000;
constexpr uint64_t kSeed = 7;
const char* const kFiles[] = {"users.csv",   "items.csv",          "interactions.csv",
                              "schema.toml", "oracle.safetensors", "dataset.json"};

fs::path make_temp_root() {
  const fs::path p = fs::temp_directory_path() / ("ftmamba_test_generator_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

// Leave-last-out HR@10 of a score matrix: (n_users, n_items) scores, the user's other items masked.
double hit_rate_at_10(const torch::Tensor& scores, const torch::Tensor& train_mask, const torch::Tensor& held) {
  const int64_t n_items = scores.size(1);
  const torch::Tensor s = scores.masked_fill(train_mask, -std::numeric_limits<double>::infinity());
  const torch::Tensor target = s.gather(1, held.unsqueeze(1));  // (n_users, 1)
  const torch::Tensor idx = torch::arange(n_items, torch::kInt64).unsqueeze(0);
  // Ties are broken by item index, so a constant score cannot look good by accident.
  const torch::Tensor rank = (s > target).sum(1) + ((s == target) & (idx < held.unsqueeze(1))).sum(1);
  return (rank < 10).to(torch::kDouble).mean().item<double>();
}

struct Metrics {
  double oracle = 0.0, popularity = 0.0;
};

// Recomputes the oracle and popularity HR@10 from the written files only.
Metrics evaluate_folder(const fs::path& dir) {
  const data::Dataset ds = data::Dataset::load(dir);
  const auto w = ftmamba::io::load_safetensors(dir / "oracle.safetensors");
  const torch::Tensor U = w.at("user_factors").to(torch::kDouble);  // (n_users, k)
  const torch::Tensor V = w.at("item_factors").to(torch::kDouble);  // (n_items, k)
  const torch::Tensor b = w.at("item_bias").to(torch::kDouble);     // (n_items)
  const int64_t n_users = ds.users.size(), n_items = ds.items.size();
  const auto& in = ds.interactions;

  std::vector<int64_t> last(n_users, -1);
  for (int64_t k = 0; k < in.size(); ++k) {
    const int64_t u = in.user[k];
    if (last[u] < 0 || in.timestamp[k] > in.timestamp[last[u]]) last[u] = k;
  }
  torch::Tensor mask = torch::zeros({n_users, n_items}, torch::kBool);
  torch::Tensor pop = torch::zeros({n_items}, torch::kDouble);
  auto mask_a = mask.accessor<bool, 2>();
  auto pop_a = pop.accessor<double, 1>();
  torch::Tensor held = torch::empty({n_users}, torch::kInt64);
  for (int64_t k = 0; k < in.size(); ++k) {
    if (k == last[in.user[k]]) continue;
    mask_a[in.user[k]][in.item[k]] = true;
    pop_a[in.item[k]] += 1.0;
  }
  for (int64_t u = 0; u < n_users; ++u) held[u] = in.item[last[u]];

  Metrics m;
  m.oracle = hit_rate_at_10(U.matmul(V.t()) + b, mask, held);
  m.popularity = hit_rate_at_10(pop.unsqueeze(0).expand({n_users, n_items}), mask, held);
  return m;
}

class GeneratorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new fs::path(make_temp_root());
    data::generate_dataset("spotify", {kPairs, kSeed}, *root_ / "a");
  }
  static void TearDownTestSuite() {
    fs::remove_all(*root_);
    delete root_;
  }
  static fs::path dir() { return *root_ / "a"; }
  static fs::path root() { return *root_; }
  static fs::path* root_;
};
fs::path* GeneratorTest::root_ = nullptr;

TEST_F(GeneratorTest, WritesEveryFileAndLoads) {
  for (const char* f : kFiles) EXPECT_TRUE(fs::exists(dir() / f)) << f;
  const data::Dataset ds = data::Dataset::load(dir());
  // 6,000 pairs: 10,000 * 6/160 listeners and 3,500 * sqrt(6/160) tracks.
  EXPECT_EQ(ds.users.size(), 375);
  EXPECT_EQ(ds.items.size(), 678);
  EXPECT_EQ(ds.interactions.size(), kPairs);
  EXPECT_TRUE(ds.schema.interactions.timestamp.has_value());
  EXPECT_GE(ds.users.n_num() + ds.users.n_cat(), 8);
  EXPECT_GE(ds.items.n_num() + ds.items.n_cat(), 10);

  const auto j = nlohmann::json::parse(ftmamba::io::read_file(dir() / "dataset.json"));
  EXPECT_EQ(j["preset"], "spotify");
  EXPECT_EQ(j["seed"], kSeed);
  EXPECT_EQ(j["pairs"], kPairs);
  EXPECT_EQ(j["counts"]["users"], 375);
  EXPECT_EQ(j["counts"]["items"], 678);
  EXPECT_FALSE(j["oracle"]["definition"].get<std::string>().empty());
}

TEST_F(GeneratorTest, OracleTensorsMatchTables) {
  const auto w = ftmamba::io::load_safetensors(dir() / "oracle.safetensors");
  ASSERT_EQ(w.size(), 6u);
  const torch::Tensor U = w.at("user_factors"), V = w.at("item_factors"), b = w.at("item_bias");
  // The true utility has the same shapes and differs by the hidden taste and popularity.
  EXPECT_EQ(w.at("true_user_factors").sizes(), U.sizes());
  EXPECT_EQ(w.at("true_item_factors").sizes(), V.sizes());
  EXPECT_EQ(w.at("true_item_bias").sizes(), b.sizes());
  EXPECT_GT((w.at("true_user_factors") - U).abs().mean().item<double>(), 1e-3);
  EXPECT_GT((w.at("true_item_bias") - b).abs().mean().item<double>(), 1e-3);
  EXPECT_EQ(U.scalar_type(), torch::kFloat32);
  EXPECT_EQ(V.scalar_type(), torch::kFloat32);
  EXPECT_EQ(b.scalar_type(), torch::kFloat32);
  EXPECT_EQ(U.sizes(), (std::vector<int64_t>{375, U.size(1)}));
  EXPECT_EQ(V.sizes(), (std::vector<int64_t>{678, U.size(1)}));
  EXPECT_EQ(b.sizes(), (std::vector<int64_t>{678}));
  EXPECT_TRUE(torch::isfinite(U).all().item<bool>() && torch::isfinite(V).all().item<bool>());
}

TEST_F(GeneratorTest, PairsAreUniqueAndEveryUserHasThree) {
  const data::Dataset ds = data::Dataset::load(dir());
  std::set<std::pair<int64_t, int64_t>> seen;
  std::vector<int64_t> per_user(ds.users.size(), 0);
  for (int64_t k = 0; k < ds.interactions.size(); ++k) {
    EXPECT_TRUE(seen.emplace(ds.interactions.user[k], ds.interactions.item[k]).second) << "duplicate at " << k;
    ++per_user[ds.interactions.user[k]];
  }
  for (int64_t u = 0; u < ds.users.size(); ++u) EXPECT_GE(per_user[u], 3) << ds.users.ids[u];
  // A user's timestamps are distinct, so "the last interaction" is well defined.
  std::set<std::pair<int64_t, double>> times;
  for (int64_t k = 0; k < ds.interactions.size(); ++k)
    EXPECT_TRUE(times.emplace(ds.interactions.user[k], ds.interactions.timestamp[k]).second);
}

TEST_F(GeneratorTest, HasMissingValuesAndRareCategories) {
  const data::Dataset ds = data::Dataset::load(dir());
  int64_t missing = 0;
  for (double v : ds.users.numerical) missing += std::isnan(v);
  const double share = static_cast<double>(missing) / static_cast<double>(ds.users.numerical.size());
  EXPECT_GT(share, 0.005);
  EXPECT_LT(share, 0.10);
  // Some country appears at most twice: a rare category a vocabulary must fold into "unknown".
  std::map<std::string, int64_t> country;
  int64_t j = 0;
  while (ds.users.categorical_names[j] != "country") ++j;
  for (int64_t u = 0; u < ds.users.size(); ++u) ++country[ds.users.cat(u, j)];
  int64_t min_count = ds.users.size();
  for (const auto& [level, n] : country) min_count = std::min(min_count, n);
  EXPECT_LE(min_count, 2);
}

TEST_F(GeneratorTest, SameSeedSameBytesOtherSeedDiffers) {
  data::generate_dataset("spotify", {kPairs, kSeed}, root() / "same");
  data::generate_dataset("spotify", {kPairs, kSeed + 1}, root() / "other");
  for (const char* f : kFiles)
    EXPECT_EQ(ftmamba::io::read_file(dir() / f), ftmamba::io::read_file(root() / "same" / f)) << f;
  for (const char* f : {"users.csv", "items.csv", "interactions.csv", "oracle.safetensors"})
    EXPECT_NE(ftmamba::io::read_file(dir() / f), ftmamba::io::read_file(root() / "other" / f)) << f;
}

TEST_F(GeneratorTest, OracleBeatsPopularityButIsNotPerfect) {
  const Metrics m = evaluate_folder(dir());
  std::printf("oracle HR@10 %.4f  popularity HR@10 %.4f\n", m.oracle, m.popularity);
  EXPECT_GT(m.oracle, 1.5 * m.popularity);
  EXPECT_LT(m.oracle, 0.8);
  EXPECT_GT(m.popularity, 0.0);
  // The generator's own figures in dataset.json agree with the recomputation from the files.
  const auto j = nlohmann::json::parse(ftmamba::io::read_file(dir() / "dataset.json"));
  EXPECT_NEAR(j["checks"]["oracle_hr_at_10"].get<double>(), m.oracle, 1e-9);
  EXPECT_NEAR(j["checks"]["popularity_hr_at_10"].get<double>(), m.popularity, 1e-9);
}

TEST(Generator, UnknownPresetListsValidNames) {
  EXPECT_EQ(data::preset_names(), (std::vector<std::string>{"spotify", "hm", "vaccine"}));
  EXPECT_EQ(&data::find_preset("spotify"), &data::find_preset("spotify"));
  try {
    data::find_preset("spotfy");
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("spotfy"), std::string::npos) << what;
    EXPECT_NE(what.find("spotify"), std::string::npos) << what;
  }
  const fs::path out = fs::temp_directory_path() / ("ftmamba_gen_unknown_" + std::to_string(::getpid()));
  EXPECT_THROW(data::generate_dataset("nope", {1000, 1}, out), Error);
  EXPECT_FALSE(fs::exists(out));
}

TEST(Generator, FailedGenerationLeavesNothing) {
  const fs::path root = make_temp_root();
  // Too few pairs for the preset: the error comes after staging began.
  EXPECT_THROW(data::generate_dataset("spotify", {10, 1}, root / "small"), Error);
  EXPECT_THROW(data::generate_dataset("spotify", {0, 1}, root / "zero"), Error);
  EXPECT_TRUE(fs::is_empty(root)) << "left: " << fs::directory_iterator(root)->path();

  // A failed run over an existing dataset keeps the old one intact.
  data::generate_dataset("spotify", {600, 3}, root / "keep");
  const std::string before = ftmamba::io::read_file(root / "keep" / "interactions.csv");
  EXPECT_THROW(data::generate_dataset("spotify", {600, 4}, root / "keep"), Error);  // replacing needs force
  EXPECT_THROW(data::generate_dataset("spotify", {10, 4}, root / "keep", /*force=*/true), Error);
  EXPECT_EQ(ftmamba::io::read_file(root / "keep" / "interactions.csv"), before);
  EXPECT_EQ(std::distance(fs::directory_iterator(root), fs::directory_iterator{}), 1);

  // A folder that is not a generated dataset is never replaced.
  fs::create_directories(root / "mine");
  ftmamba::io::write_file_atomic(root / "mine" / "notes.txt", "keep me");
  EXPECT_THROW(data::generate_dataset("spotify", {600, 1}, root / "mine", /*force=*/true), Error);
  EXPECT_EQ(ftmamba::io::read_file(root / "mine" / "notes.txt"), "keep me");
  fs::remove_all(root);
}

// The engine on a hand-written two-column spec: how a new preset plugs in.
data::gen::Spec tiny_spec() {
  data::gen::Spec s;
  s.preset = "tiny";
  s.users.id_column = "uid";
  s.users.id_prefix = "u";
  s.items.id_column = "iid";
  s.items.id_prefix = "i";
  auto& color = s.users.add_categorical("color");
  auto& size = s.users.add_numerical("size", 2, 0.1);
  auto& kind = s.items.add_categorical("kind");
  auto& weight = s.items.add_numerical("weight", 1);
  data::gen::Rng r(5);
  for (int u = 0; u < 40; ++u) {
    color.cat.push_back(r.bernoulli(0.5) ? "red" : "blue");
    size.num.push_back(r.normal());
  }
  for (int i = 0; i < 30; ++i) {
    kind.cat.push_back(i % 3 == 0 ? "red" : "blue");
    weight.num.push_back(r.uniform(1, 10));
  }
  s.model.dim = 4;
  s.model.user = {data::gen::embed("color", 1.0, "color"), data::gen::cross("color", "size", 0.5)};
  s.model.item = {data::gen::embed("kind", 1.0, "color"), data::gen::curve("weight", 0.5)};
  s.model.popularity = {data::gen::linear("weight", 1.0)};
  return s;
}

TEST(GeneratorEngine, CustomSpecSamplesExactCounts) {
  const data::gen::Spec s = tiny_spec();
  const auto res = data::gen::generate(s, {200, 9});
  ASSERT_EQ(res.user.size(), 200u);
  std::set<std::pair<int64_t, int64_t>> pairs;
  for (size_t k = 0; k < res.user.size(); ++k) EXPECT_TRUE(pairs.emplace(res.user[k], res.item[k]).second);
  for (size_t k = 1; k < res.timestamp.size(); ++k) EXPECT_LE(res.timestamp[k - 1], res.timestamp[k]);
  EXPECT_EQ(res.user_factors.size(), 40u * 4u);
  EXPECT_EQ(res.item_bias.size(), 30u);
  // Blank cells exist for "size" (10%) and the oracle is still finite there.
  int64_t blanks = 0;
  for (uint8_t b : res.user_missing[1]) blanks += b;
  EXPECT_GT(blanks, 0);
  for (float f : res.user_factors) EXPECT_TRUE(std::isfinite(f));
  // Heavier items are more popular (the popularity effect's declared sign).
  const auto& w = s.items.column("weight").num;
  EXPECT_GT((res.item_bias[0] - res.item_bias[1]) * (w[0] - w[1]), 0.0f);
}

TEST(GeneratorEngine, RejectsBadSpecs) {
  data::gen::Spec s = tiny_spec();
  s.model.user.push_back(data::gen::embed("no_such_column", 1.0));
  EXPECT_THROW(data::gen::generate(s, {200, 1}), Error);
  s = tiny_spec();
  s.model.item.push_back(data::gen::linear("kind", 1.0));  // linear on a categorical
  EXPECT_THROW(data::gen::generate(s, {200, 1}), Error);
  s = tiny_spec();
  s.users.columns[1].num.pop_back();  // ragged column
  EXPECT_THROW(data::gen::generate(s, {200, 1}), Error);
  s = tiny_spec();
  EXPECT_THROW(data::gen::generate(s, {100, 1}), Error);   // fewer than 3 per user
  EXPECT_THROW(data::gen::generate(s, {5000, 1}), Error);  // more than the catalogue allows
}

// A spec using the layout options: own id formats, a written non-feature column, a blank level, a
// levels effect, and interactions written as dates, time first, with an extra column.
data::gen::Spec formatted_spec() {
  data::gen::Spec s = tiny_spec();
  s.users.id_format = [](int64_t row) { return "cust-" + std::to_string(1000 + 7 * row); };
  auto& flag = s.users.add_categorical("flag");
  flag.blank_level = true;
  for (int u = 0; u < 40; ++u) flag.cat.push_back(u % 4 == 0 ? "1.0" : "");
  auto& label = s.items.add_extra("label");
  for (int i = 0; i < 30; ++i) label.cat.push_back(i % 5 == 0 ? "" : "item " + std::to_string(i));
  s.items.id_format = [](int64_t row) { return "0" + std::to_string(500 + row); };
  s.model.user.push_back(data::gen::levels("flag", {{"1.0", 1.0}}, 0.5, "flagged"));
  s.model.item.push_back(data::gen::levels("kind", {{"red", 1.0}}, 0.5, "flagged"));
  s.model.popularity.push_back(data::gen::levels("kind", {{"red", 1.0}}, 5.0));
  s.timeline.start = 1600732800 - 3 * 86400;  // 2020-09-19
  s.timeline.days = 4.0;
  s.interactions.timestamp_column = "day";
  s.interactions.time = data::gen::InteractionFormat::Time::Date;
  s.interactions.timestamp_first = true;
  s.interactions.extra.push_back({"amount", 2, [](int64_t user, int64_t item, data::gen::Rng& r) {
                                    return static_cast<double>(user * 100 + item) + 0.25 + 0.0 * r.uniform();
                                  }});
  return s;
}

TEST(GeneratorEngine, LayoutOptionsAreWrittenAndLoad) {
  const data::gen::Spec s = formatted_spec();
  const data::GenerateOptions opt{200, 9};
  const auto res = data::gen::generate(s, opt);
  ASSERT_EQ(res.extra.size(), 1u);
  for (size_t k = 0; k < res.user.size(); ++k)
    EXPECT_EQ(res.extra[0][k], static_cast<double>(res.user[k] * 100 + res.item[k]) + 0.25);
  // Red items are more popular, through the levels effect's declared sign.
  EXPECT_GT(res.item_bias[0], res.item_bias[1]);  // item 0 is red, item 1 blue

  const fs::path root = make_temp_root();
  data::gen::write_dataset(s, res, opt, root);
  const std::string tx = ftmamba::io::read_file(root / "interactions.csv");
  EXPECT_EQ(tx.substr(0, tx.find('\n')), "day,uid,iid,amount");
  const std::string users = ftmamba::io::read_file(root / "users.csv");
  EXPECT_EQ(users.substr(0, users.find('\n')), "uid,color,size,flag");
  const std::string row0 = users.substr(users.find('\n') + 1, users.find("\ncust-1007") - users.find('\n') - 1);
  EXPECT_EQ(row0.substr(0, 10), "cust-1000,");
  EXPECT_EQ(row0.substr(row0.size() - 4), ",1.0");  // the "1.0" level; the next row's blank level follows
  EXPECT_NE(users.find(",\ncust-1014,"), std::string::npos);
  const std::string items = ftmamba::io::read_file(root / "items.csv");
  EXPECT_NE(items.find("\n0501,"), std::string::npos);
  EXPECT_NE(items.find(",item 1\n"), std::string::npos);
  EXPECT_EQ(ftmamba::io::read_file(root / "schema.toml").find("label"), std::string::npos);  // not a feature

  const data::Dataset ds = data::Dataset::load(root);
  EXPECT_EQ(ds.items.categorical_names, std::vector<std::string>{"kind"});
  EXPECT_EQ(ds.users.categorical_names, (std::vector<std::string>{"color", "flag"}));
  EXPECT_EQ(ds.users.ids[1], "cust-1007");
  EXPECT_EQ(ds.schema.interactions.timestamp, "day");
  ASSERT_EQ(ds.interactions.size(), 200);
  for (int64_t k = 0; k < ds.interactions.size(); ++k) {
    const double t = ds.interactions.timestamp[k];
    EXPECT_EQ(std::fmod(t, 86400.0), 0.0);  // a date: midnight
    EXPECT_GE(t, 1600732800.0 - 3 * 86400);
    EXPECT_LE(t, 1600732800.0);
    EXPECT_EQ(ds.interactions.user[k], res.user[k]);
  }
  fs::remove_all(root);
}

TEST(GeneratorEngine, LevelsEffectsKeepTheirValues) {
  // Popularity from a levels effect alone: red items sit value * scale above blue ones, however rare
  // red is (rescaling to an rms would make a rare level an outlier).
  data::gen::Spec s = tiny_spec();
  auto& kind = s.items.columns[0].cat;
  for (size_t i = 0; i < kind.size(); ++i) kind[i] = i % 10 == 0 ? "red" : "blue";
  s.model.popularity = {data::gen::levels("kind", {{"red", 1.0}, {"blue", 0.25}}, 0.5)};
  s.model.popularity_hidden = 0.0;
  s.model.temperature = 0.5;
  const auto res = data::gen::generate(s, {200, 3});
  EXPECT_NEAR(res.item_bias[0] - res.item_bias[1], (1.0 - 0.25) * 0.5 / 0.5, 1e-6);
  // Centred over the items: 3 red at +0.75 * (27/30), 27 blue at -0.75 * (3/30), in logits.
  EXPECT_NEAR(res.item_bias[0], 0.75 * 0.9, 1e-6);
  EXPECT_NEAR(res.item_bias[1], -0.75 * 0.1, 1e-6);
}

TEST(GeneratorEngine, RejectsBadLayouts) {
  data::gen::Spec s = formatted_spec();
  s.users.id_format = [](int64_t row) { return "u" + std::to_string(row / 2); };  // not unique
  EXPECT_THROW(data::gen::generate(s, {200, 1}), Error);
  s = formatted_spec();
  s.model.item.push_back(data::gen::embed("label", 1.0));  // an extra column is not a feature
  EXPECT_THROW(data::gen::generate(s, {200, 1}), Error);
  s = formatted_spec();
  s.users.columns[0].cat[3] = "";  // a blank level where the column has none
  EXPECT_THROW(data::gen::generate(s, {200, 1}), Error);
  s = formatted_spec();
  s.model.item.push_back(data::gen::levels("weight", {{"1", 1.0}}, 1.0));  // levels on a numerical column
  EXPECT_THROW(data::gen::generate(s, {200, 1}), Error);
  s = formatted_spec();
  s.interactions.extra.push_back({"uid", 0, [](int64_t, int64_t, data::gen::Rng&) { return 1.0; }});
  EXPECT_THROW(data::gen::generate(s, {200, 1}), Error);
  s = formatted_spec();
  s.interactions.extra[0].value = nullptr;
  EXPECT_THROW(data::gen::generate(s, {200, 1}), Error);
}

// The effect language evaluated on its own: each effect is centred, scaled to rms norm |scale|, and its
// oracle gives a blank cell the mean of the rows where the feature is present.
TEST(GeneratorEngine, EffectsAreCentredScaledAndBlanksTakeTheMean) {
  const data::gen::Spec s = tiny_spec();
  constexpr int D = 4;
  const int64_t n = s.users.rows();
  std::vector<std::vector<uint8_t>> missing(s.users.columns.size(), std::vector<uint8_t>(n, 0));
  missing[1][3] = 1;  // row 3's size is written blank
  const data::gen::Side side{"user", &s.users, &missing, D, 11};
  for (const auto& effect : {data::gen::linear("size", 2.0), data::gen::curve("size", 0.5)}) {
    const auto ev = data::gen::evaluate_effects({effect}, side);  // (n, D)
    ASSERT_EQ(ev.truth.size(), static_cast<size_t>(n * D));
    double ss = 0.0;
    std::vector<double> mean(D, 0.0), present_mean(D, 0.0);
    for (int64_t r = 0; r < n; ++r)
      for (int d = 0; d < D; ++d) {
        ss += ev.truth[r * D + d] * ev.truth[r * D + d];
        mean[d] += ev.truth[r * D + d] / static_cast<double>(n);
        if (r != 3) present_mean[d] += ev.truth[r * D + d] / static_cast<double>(n - 1);
      }
    EXPECT_NEAR(std::sqrt(ss / static_cast<double>(n)), effect.scale, 1e-9);
    for (int d = 0; d < D; ++d) {
      EXPECT_NEAR(mean[d], 0.0, 1e-9);
      EXPECT_NEAR(ev.oracle[3 * D + d], present_mean[d], 1e-9);  // the blank row
      EXPECT_EQ(ev.oracle[5 * D + d], ev.truth[5 * D + d]);      // a present row
    }
  }
  // Two effects add up; a shared embed table gives equal levels equal vectors.
  const auto both = data::gen::evaluate_effects({data::gen::linear("size", 2.0), data::gen::curve("size", 0.5)}, side);
  const auto one = data::gen::evaluate_effects({data::gen::linear("size", 2.0)}, side);
  const auto two = data::gen::evaluate_effects({data::gen::curve("size", 0.5)}, side);
  for (size_t i = 0; i < both.truth.size(); ++i) EXPECT_NEAR(both.truth[i], one.truth[i] + two.truth[i], 1e-12);
  const auto embed = data::gen::evaluate_effects({data::gen::embed("color", 1.0, "color")}, side);
  const auto& color = s.users.column("color").cat;
  for (int64_t r = 1; r < n; ++r) {
    if (color[r] != color[0]) continue;
    for (int d = 0; d < D; ++d) EXPECT_EQ(embed.truth[r * D + d], embed.truth[d]);
  }
  EXPECT_STREQ(data::gen::effect_kind_name(data::gen::Effect::Kind::Cross), "cross");
}

TEST(GeneratorEngine, DriftMovesOnlyTheSegment) {
  const data::gen::Spec s = tiny_spec();
  constexpr int D = 4;
  const int64_t n = s.users.rows();
  std::vector<double> taste(n * D), oracle(n * D);
  data::gen::Rng r(2);
  for (auto& x : taste) x = r.normal();
  for (auto& x : oracle) x = r.normal();
  const auto taste0 = taste, oracle0 = oracle;

  data::Drift drift = data::Drift::parse("color=red");
  EXPECT_EQ(drift.segment(), "color=red");
  drift.strength = 1.0;  // all the way to the target: every member ends equal
  const auto& color = s.users.column("color").cat;
  const int64_t members = std::count(color.begin(), color.end(), "red");
  ASSERT_GT(members, 0);
  EXPECT_EQ(data::gen::apply_drift(drift, s.users, D, taste, oracle), members);
  double sq = 0.0;
  for (double x : taste0) sq += x * x;
  const double rms = std::sqrt(sq / static_cast<double>(n));
  const int64_t first = std::find(color.begin(), color.end(), "red") - color.begin();
  double norm = 0.0;
  for (int d = 0; d < D; ++d) norm += taste[first * D + d] * taste[first * D + d];
  EXPECT_NEAR(std::sqrt(norm), rms, 1e-9);  // the target has the rms norm of all tastes
  for (int64_t u = 0; u < n; ++u)
    for (int d = 0; d < D; ++d) {
      if (color[u] == "red") {
        EXPECT_EQ(taste[u * D + d], taste[first * D + d]);
        EXPECT_EQ(oracle[u * D + d], taste[first * D + d]);
      } else {
        EXPECT_EQ(taste[u * D + d], taste0[u * D + d]);
        EXPECT_EQ(oracle[u * D + d], oracle0[u * D + d]);
      }
    }

  data::Drift half = data::Drift::parse("size>0.5");
  EXPECT_EQ(half.op, '>');
  EXPECT_EQ(half.threshold, 0.5);
  half.strength = 0.5;
  taste = taste0;
  oracle = oracle0;
  const auto& size = s.users.column("size").num;
  EXPECT_EQ(data::gen::apply_drift(half, s.users, D, taste, oracle),
            std::count_if(size.begin(), size.end(), [](double v) { return v > 0.5; }));

  EXPECT_THROW(data::Drift::parse("color"), Error);
  EXPECT_THROW(data::Drift::parse("size>big"), Error);
  EXPECT_THROW(data::gen::apply_drift(data::Drift::parse("shape=round"), s.users, D, taste, oracle), Error);
  EXPECT_THROW(data::gen::apply_drift(data::Drift::parse("color=green"), s.users, D, taste, oracle), Error);
  EXPECT_THROW(data::gen::apply_drift(data::Drift::parse("color>1"), s.users, D, taste, oracle), Error);
  data::Drift weak = data::Drift::parse("color=red");
  weak.strength = 0.0;
  EXPECT_THROW(data::gen::apply_drift(weak, s.users, D, taste, oracle), Error);
}

TEST(GeneratorEngine, RngIsDeterministicPerStream) {
  auto a = data::gen::Rng::stream(1, "x"), b = data::gen::Rng::stream(1, "x"), c = data::gen::Rng::stream(1, "y");
  bool differs = false;
  for (int k = 0; k < 100; ++k) {
    const double x = a.normal(), y = b.normal(), z = c.normal();
    EXPECT_EQ(x, y);
    differs = differs || x != z;
  }
  EXPECT_TRUE(differs);
  double mean = 0.0;
  data::gen::Rng r(3);
  for (int k = 0; k < 20000; ++k) mean += r.gamma(2.0, 3.0);
  EXPECT_NEAR(mean / 20000.0, 6.0, 0.15);
}

}  // namespace
