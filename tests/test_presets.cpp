// Tests for every synthetic preset: each writes a valid dataset (loads, exact counts and schema, no
// duplicate pairs), is deterministic in its seed, and has an oracle that beats popularity; plus the
// H&M preset's Kaggle file layout (column names, id and date formats, codes consistent with names).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ftmamba/data/csv.h"
#include "ftmamba/data/dataset.h"
#include "ftmamba/data/presets/preset.h"
#include "ftmamba/data/timestamp.h"
#include "ftmamba/eval/evaluate.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/run/config.h"
#include "ftmamba/run/run.h"
#include "hm_kaggle_columns.h"

namespace fs = std::filesystem;
namespace data = ftmamba::data;

namespace {

constexpr int64_t kPairs = 6000;
constexpr uint64_t kSeed = 7;
const char* const kFiles[] = {"users.csv",   "items.csv",          "interactions.csv",
                              "schema.toml", "oracle.safetensors", "dataset.json"};

using Names = std::vector<std::string>;

// What each preset must write at kPairs: table sizes (users linear in pairs, items with the square
// root) and the schema, exactly.
struct Expected {
  int64_t users, items;
  data::TableSchema user_schema, item_schema;
  std::string user_id, item_id, timestamp;
};

const std::map<std::string, Expected>& expected() {
  static const std::map<std::string, Expected> e = {
      {"spotify",
       {375,
        678,
        {"user_id",
         {"age", "account_age_days", "listening_hours_per_week", "playlists_created"},
         {"gender", "country", "premium", "preferred_device", "favorite_genre"},
         {},
         "|"},
        {"track_id",
         {"artist_popularity", "danceability", "energy", "valence", "acousticness", "tempo", "release_year",
          "duration_ms"},
         {"genre", "subgenre", "artist", "mode", "explicit"},
         {},
         "|"},
        "user_id",
        "track_id",
        "timestamp"}},
      // The same schema as the importer of the real H&M files writes.
      {"hm",
       {375,
        775,
        {"customer_id",
         {"age"},
         {"FN", "Active", "club_member_status", "fashion_news_frequency", "postal_code"},
         {},
         "|"},
        {"article_id",
         {},
         {"product_type_name", "product_group_name", "graphical_appearance_name", "colour_group_name",
          "perceived_colour_value_name", "perceived_colour_master_name", "department_name", "index_name",
          "index_group_name", "section_name", "garment_group_name"},
         {},
         "|"},
        "customer_id",
        "article_id",
        "t_dat"}},
      {"vaccine",
       {375,
        484,
        {"recipient_id",
         {"age", "trust_doctors", "trust_government", "trust_news_media", "trust_friends_family", "trust_social_media"},
         {"gender", "race_ethnicity", "education", "region", "political_leaning", "vaccine_attitude", "has_children",
          "chronic_condition", "preferred_language"},
         {},
         "|"},
        {"message_id", {"length_words", "reading_level"}, {"topic", "tone", "source", "format", "language"}, {}, "|"},
        "recipient_id",
        "message_id",
        "timestamp"}},
  };
  return e;
}

fs::path root() {
  static const fs::path p = [] {
    fs::path r = fs::temp_directory_path() / ("ftmamba_test_presets_" + std::to_string(::getpid()));
    fs::remove_all(r);
    fs::create_directories(r);
    return r;
  }();
  return p;
}

// Each preset's dataset, generated once per run of the suite.
fs::path dataset(const std::string& preset, uint64_t seed = kSeed, const std::string& tag = "") {
  const fs::path dir = root() / (preset + "_" + std::to_string(seed) + tag);
  if (!fs::exists(dir)) data::generate_dataset(preset, {kPairs, seed}, dir);
  return dir;
}

class PresetTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void TearDownTestSuite() { fs::remove_all(root()); }
};

TEST(Presets, EveryPresetIsListedAndExpected) {
  EXPECT_EQ(data::preset_names(), (Names{"spotify", "hm", "vaccine"}));
  for (const std::string& n : data::preset_names()) {
    EXPECT_EQ(data::find_preset(n).name(), n);
    EXPECT_FALSE(data::find_preset(n).summary().empty());
    EXPECT_EQ(expected().count(n), 1u) << n;
  }
}

TEST_P(PresetTest, WritesAValidDatasetWithExactCountsAndSchema) {
  const std::string name = GetParam();
  const fs::path dir = dataset(name);
  for (const char* f : kFiles) EXPECT_TRUE(fs::exists(dir / f)) << f;
  const data::Dataset ds = data::Dataset::load(dir);
  const Expected& e = expected().at(name);
  EXPECT_EQ(ds.users.size(), e.users);
  EXPECT_EQ(ds.items.size(), e.items);
  EXPECT_EQ(ds.interactions.size(), kPairs);
  EXPECT_EQ(ds.schema.users.id, e.user_schema.id);
  EXPECT_EQ(ds.schema.users.numerical, e.user_schema.numerical);
  EXPECT_EQ(ds.schema.users.categorical, e.user_schema.categorical);
  EXPECT_EQ(ds.schema.items.id, e.item_schema.id);
  EXPECT_EQ(ds.schema.items.numerical, e.item_schema.numerical);
  EXPECT_EQ(ds.schema.items.categorical, e.item_schema.categorical);
  EXPECT_EQ(ds.schema.interactions.user, e.user_id);
  EXPECT_EQ(ds.schema.interactions.item, e.item_id);
  EXPECT_EQ(ds.schema.interactions.timestamp, e.timestamp);
  EXPECT_FALSE(ds.schema.interactions.weight.has_value());

  const auto j = nlohmann::json::parse(ftmamba::io::read_file(dir / "dataset.json"));
  EXPECT_EQ(j["preset"], name);
  EXPECT_EQ(j["counts"]["users"], e.users);
  EXPECT_EQ(j["counts"]["items"], e.items);
  EXPECT_EQ(j["counts"]["interactions"], kPairs);
}

TEST_P(PresetTest, PairsAreUniqueAndEveryUserHasThree) {
  const data::Dataset ds = data::Dataset::load(dataset(GetParam()));
  std::set<std::pair<int64_t, int64_t>> seen;
  std::vector<int64_t> per_user(ds.users.size(), 0);
  std::vector<int64_t> per_item(ds.items.size(), 0);
  for (int64_t k = 0; k < ds.interactions.size(); ++k) {
    EXPECT_TRUE(seen.emplace(ds.interactions.user[k], ds.interactions.item[k]).second) << "duplicate at " << k;
    ++per_user[ds.interactions.user[k]];
    ++per_item[ds.interactions.item[k]];
  }
  EXPECT_GE(*std::min_element(per_user.begin(), per_user.end()), 3);
  // Time order in the file (ties allowed for dates).
  for (int64_t k = 1; k < ds.interactions.size(); ++k)
    ASSERT_LE(ds.interactions.timestamp[k - 1], ds.interactions.timestamp[k]) << k;
  // Most of the catalogue is used, but not evenly.
  const auto used = std::count_if(per_item.begin(), per_item.end(), [](int64_t n) { return n > 0; });
  EXPECT_GT(used, ds.items.size() / 2);
  EXPECT_GT(*std::max_element(per_item.begin(), per_item.end()), 4 * kPairs / ds.items.size());
}

TEST_P(PresetTest, SameSeedSameBytesOtherSeedDiffers) {
  const std::string name = GetParam();
  const fs::path a = dataset(name), same = dataset(name, kSeed, "_again"), other = dataset(name, kSeed + 1);
  for (const char* f : kFiles)
    EXPECT_EQ(ftmamba::io::read_file(a / f), ftmamba::io::read_file(same / f)) << name << " " << f;
  for (const char* f : {"users.csv", "items.csv", "interactions.csv", "oracle.safetensors"})
    EXPECT_NE(ftmamba::io::read_file(a / f), ftmamba::io::read_file(other / f)) << name << " " << f;
}

TEST_P(PresetTest, OracleBeatsPopularity) {
  const auto j = nlohmann::json::parse(ftmamba::io::read_file(dataset(GetParam()) / "dataset.json"));
  const double oracle = j["checks"]["oracle_hr_at_10"], popularity = j["checks"]["popularity_hr_at_10"];
  const double top = j["checks"]["top_1pct_item_share"];
  std::printf("%s: oracle HR@10 %.4f  popularity HR@10 %.4f  top-1%% share %.4f\n", GetParam().c_str(), oracle,
              popularity, top);
  EXPECT_GT(oracle, popularity);
  EXPECT_GT(popularity, 0.0);
  EXPECT_LT(oracle, 0.8);
  EXPECT_GT(top, 0.02);
  EXPECT_LT(top, 0.4);
}

// The same claim through the evaluation code a run uses: the oracle written to oracle.safetensors, ranked
// over the full catalog on the test split, beats the popularity ranker on HR@10 (the model is untrained;
// only the reference rows are read).
TEST_P(PresetTest, OracleFileBeatsPopularityInEvaluation) {
  ftmamba::run::RunConfig cfg;
  cfg.model.d_token = 8;
  cfg.model.embed_dim = 8;
  cfg.model.n_layers = 1;
  const auto data = ftmamba::run::prepare_data(dataset(GetParam()), cfg);
  auto model = ftmamba::run::build_model(cfg, data.user_encoding, data.item_encoding);
  const auto negatives = ftmamba::eval::load_or_draw_negatives(fs::path(), data, 50, 1, false);
  const auto j = ftmamba::eval::evaluate_test(model, data, 256, negatives);
  ASSERT_TRUE(j["full"].contains("oracle")) << GetParam() << ": the oracle was not loaded";
  const double oracle = j["full"]["oracle"]["HR@10"], popularity = j["full"]["popularity"]["HR@10"];
  std::printf("%s: test split, oracle HR@10 %.4f, popularity %.4f\n", GetParam().c_str(), oracle, popularity);
  EXPECT_GT(oracle, popularity + 0.02) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(All, PresetTest, ::testing::ValuesIn(data::preset_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// ---- the H&M layout ------------------------------------------------------------------------------

bool all_of_chars(const std::string& s, const char* allowed) {
  return !s.empty() && s.find_first_not_of(allowed) == std::string::npos;
}

TEST(HmPreset, KaggleHeadersAndValueStyles) {
  const fs::path dir = dataset("hm");
  const data::CsvTable users = data::read_csv(dir / "users.csv");
  const data::CsvTable items = data::read_csv(dir / "items.csv");
  const data::CsvTable tx = data::read_csv(dir / "interactions.csv");
  EXPECT_EQ(users.header, hm_kaggle::kCustomerColumns);
  EXPECT_EQ(items.header, hm_kaggle::kArticleColumns);
  EXPECT_EQ(tx.header, hm_kaggle::kTransactionColumns);

  const char* hex = "0123456789abcdef";
  const char* digits = "0123456789";
  std::map<std::string, std::set<std::string>> levels;
  std::set<std::string> postal;
  for (const auto& row : users.rows) {
    EXPECT_EQ(row[0].size(), 64u);
    EXPECT_TRUE(all_of_chars(row[0], hex)) << row[0];
    for (int c : {1, 2}) EXPECT_TRUE(row[c].empty() || row[c] == "1.0") << row[c];
    levels["club"].insert(row[3]);
    levels["news"].insert(row[4]);
    EXPECT_TRUE(row[5].empty() || (all_of_chars(row[5], digits) && std::stoi(row[5]) >= 16 && std::stoi(row[5]) < 100))
        << row[5];
    EXPECT_EQ(row[6].size(), 64u);
    EXPECT_TRUE(all_of_chars(row[6], hex));
    postal.insert(row[6]);
  }
  EXPECT_TRUE(levels["club"].count("ACTIVE") && levels["club"].count("PRE-CREATE"));
  for (const std::string& l : levels["club"])
    EXPECT_TRUE(l.empty() || l == "ACTIVE" || l == "PRE-CREATE" || l == "LEFT CLUB") << l;
  EXPECT_TRUE(levels["news"].count("NONE") && levels["news"].count("Regularly"));
  for (const std::string& l : levels["news"])
    EXPECT_TRUE(l.empty() || l == "NONE" || l == "Regularly" || l == "Monthly") << l;
  // Far fewer postal codes than customers: shared, skewed.
  EXPECT_GT(postal.size(), 10u);
  EXPECT_LT(postal.size(), users.rows.size() / 2);

  // Articles: 10-digit ids that start with the 7-digit product code; every code names one thing.
  std::map<std::pair<int, std::string>, std::set<std::string>> name_of;
  const std::vector<std::pair<int, int>> code_name = {{3, 4},   {6, 7},   {8, 9},   {10, 11}, {12, 13},
                                                      {14, 15}, {16, 17}, {18, 19}, {20, 21}, {22, 23}};
  std::set<std::string> groups, index_groups;
  for (const auto& row : items.rows) {
    EXPECT_EQ(row[0].size(), 10u);
    EXPECT_TRUE(all_of_chars(row[0], digits)) << row[0];
    EXPECT_EQ(row[0].substr(0, 7), row[1]);
    EXPECT_FALSE(row[2].empty());
    for (const auto& [c, n] : code_name) {
      EXPECT_FALSE(row[c].empty());
      name_of[{c, row[c]}].insert(row[n]);
    }
    groups.insert(row[5]);
    index_groups.insert(row[19]);
  }
  for (const auto& [code, names] : name_of)
    EXPECT_EQ(names.size(), 1u) << items.header[code.first] << " " << code.second;
  EXPECT_TRUE(groups.count("Garment Upper body") && groups.count("Garment Lower body") && groups.count("Accessories"));
  EXPECT_EQ(index_groups, (std::set<std::string>{"Ladieswear", "Baby/Children", "Menswear", "Sport", "Divided"}));

  // Transactions: dates within the Kaggle window, prices on its scale, channel 1 or 2.
  const double first = data::parse_timestamp("2018-09-20").value(), last = data::parse_timestamp("2020-09-22").value();
  std::set<std::string> channels;
  double min_price = 1.0, max_price = 0.0;
  for (const auto& row : tx.rows) {
    ASSERT_EQ(row[0].size(), 10u) << row[0];
    const auto t = data::parse_timestamp(row[0]);
    ASSERT_TRUE(t.has_value()) << row[0];
    EXPECT_GE(*t, first);
    EXPECT_LE(*t, last);
    const double p = std::stod(row[3]);
    min_price = std::min(min_price, p);
    max_price = std::max(max_price, p);
    channels.insert(row[4]);
  }
  EXPECT_EQ(tx.rows.front()[0].substr(0, 4), "2018");
  EXPECT_EQ(tx.rows.back()[0].substr(0, 4), "2020");
  EXPECT_GT(min_price, 0.0);
  EXPECT_LT(max_price, 0.6);
  EXPECT_LT(min_price, 0.01);
  EXPECT_EQ(channels, (std::set<std::string>{"1", "2"}));
}

}  // namespace
