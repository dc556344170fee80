// The Recommender (serve/) on a small generated dataset and a run trained for one epoch: its top-k is the
// brute-force ranking of dot products with seen items removed; include_seen brings them back; a new user given
// a known user's own features gets that user's unmasked recommendation; the batch path equals the per-user one;
// bad requests name the user, feature or row; write_embeddings writes what the Recommender scores with.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "error_message.h"
#include "ftmamba/core/error.h"
#include "ftmamba/eval/evaluate_run.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/io/safetensors.h"
#include "ftmamba/nn/two_tower.h"
#include "ftmamba/run/config.h"
#include "ftmamba/run/inference_data.h"
#include "ftmamba/run/run.h"
#include "ftmamba/run/weight_hashes.h"
#include "ftmamba/serve/encode.h"
#include "ftmamba/serve/recommender.h"
#include "ftmamba/train/trainer.h"
#include "generated_data_suite.h"
#include "tiny_run.h"

namespace fs = std::filesystem;
namespace run = ftmamba::run;
namespace serve = ftmamba::serve;

using ftmamba_test::error_message;

namespace {

constexpr double kTol = 1e-5;  // float32 matmul against a float64 dot product

class Recommender : public ftmamba_test::GeneratedDataSuite<3000, 13> {
 protected:
  static void SetUpTestSuite() {
    GeneratedDataSuite::SetUpTestSuite();
    ftmamba_test::train_tiny_run(data_dir(), run_dir());
    rec_ = std::make_unique<serve::Recommender>(serve::Recommender::load(run_dir()));
    dataset_ = ftmamba::data::Dataset::load(data_dir());
  }
  static void TearDownTestSuite() {
    rec_.reset();
    GeneratedDataSuite::TearDownTestSuite();
  }
  static fs::path run_dir() { return root() / "run"; }
  static const serve::Recommender& rec() { return *rec_; }
  static const ftmamba::data::Dataset& dataset() { return dataset_; }
  static int64_t n_items() { return dataset().items.size(); }

  // The user's items, read from the interactions here rather than from the Recommender.
  static std::set<int64_t> seen_by(int64_t user_row) {
    std::set<int64_t> out;
    for (int64_t i = 0; i < dataset().interactions.size(); ++i)
      if (dataset().interactions.user[i] == user_row) out.insert(dataset().interactions.item[i]);
    return out;
  }

  // Brute force: every item's <user, item> in float64 from embeddings encoded here, masked items dropped,
  // best first. (score, item row) pairs.
  static std::vector<std::pair<double, int64_t>> brute_force(int64_t user_row, const std::set<int64_t>& masked) {
    auto& model = rec().run().model;
    const auto users = rec().run().user_encoding.transform(dataset().users);
    const auto u = ftmamba::nn::encode_all(*model->user_tower, users.index_select(torch::tensor({user_row})), 1)
                       .to(torch::kFloat64)
                       .squeeze(0);  // (E)
    const auto items = ftmamba::nn::encode_all(*model->item_tower, rec().run().item_encoding.transform(dataset().items),
                                               64)
                           .to(torch::kFloat64);               // (I, E)
    const auto scores = torch::matmul(items, u).contiguous();  // (I)
    std::vector<std::pair<double, int64_t>> out;
    for (int64_t i = 0; i < n_items(); ++i)
      if (!masked.count(i)) out.emplace_back(scores[i].item<double>(), i);
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    return out;
  }

  // got is the top-k of `want` (a full ranking, best first): the same length (k or all that remain), rank by rank
  // the same score, and each item is the brute force's item at that rank or one tied with it.
  static void expect_top_k(const serve::Recommendations& got, const std::vector<std::pair<double, int64_t>>& want,
                           int64_t k) {
    ASSERT_EQ(static_cast<int64_t>(got.items.size()), std::min<int64_t>(k, static_cast<int64_t>(want.size())));
    std::map<int64_t, double> want_score;
    for (const auto& [s, i] : want) want_score[i] = s;
    std::set<int64_t> distinct;
    for (size_t r = 0; r < got.items.size(); ++r) {
      const auto& it = got.items[r];
      EXPECT_EQ(it.rank, static_cast<int64_t>(r) + 1);
      EXPECT_EQ(it.item, dataset().items.ids[it.item_row]);
      EXPECT_TRUE(distinct.insert(it.item_row).second) << it.item;
      ASSERT_TRUE(want_score.count(it.item_row)) << "item " << it.item << " should have been left out";
      EXPECT_NEAR(it.score, want_score[it.item_row], kTol) << it.item;
      EXPECT_NEAR(it.score, want[r].first, kTol) << "rank " << r + 1;
    }
  }

  // Two rankings of one user agree: same length, same score at every rank, and the same item unless tied.
  static void expect_same_ranking(const serve::Recommendations& a, const serve::Recommendations& b) {
    EXPECT_EQ(a.user, b.user);
    ASSERT_EQ(a.items.size(), b.items.size()) << a.user;
    for (size_t r = 0; r < a.items.size(); ++r) {
      EXPECT_NEAR(a.items[r].score, b.items[r].score, kTol) << a.user << " rank " << r + 1;
      if (a.items[r].item != b.items[r].item) {
        const bool tied_above = r > 0 && std::abs(a.items[r].score - a.items[r - 1].score) < kTol;
        const bool tied_below = r + 1 < a.items.size() && std::abs(a.items[r].score - a.items[r + 1].score) < kTol;
        EXPECT_TRUE(tied_above || tied_below)
            << a.user << " rank " << r + 1 << ": " << a.items[r].item << " vs " << b.items[r].item;
      }
    }
  }

  // A known user's raw features as --feature pairs: every present value, numbers in round-trip form.
  static serve::FeatureValues own_features(int64_t row) {
    const auto& t = dataset().users;
    serve::FeatureValues out;
    for (int64_t j = 0; j < t.n_num(); ++j)
      if (!std::isnan(t.num(row, j))) out.emplace_back(t.numerical_names[j], fmt::format("{}", t.num(row, j)));
    for (int64_t j = 0; j < t.n_cat(); ++j)
      if (!t.cat(row, j).empty()) out.emplace_back(t.categorical_names[j], t.cat(row, j));
    return out;
  }

 private:
  static inline std::unique_ptr<serve::Recommender> rec_;
  static inline ftmamba::data::Dataset dataset_;
};

}  // namespace

TEST_F(Recommender, ItemEmbeddingsAreEveryItemEncodedOnce) {
  const auto& emb = rec().item_embeddings();
  ASSERT_EQ(emb.dim(), 2);
  EXPECT_EQ(emb.size(0), n_items());
  EXPECT_EQ(emb.size(1), 16);
  EXPECT_TRUE(torch::isfinite(emb).all().item<bool>());
  // Every item is L2-normalised by the tower, so no row is a leftover zero.
  EXPECT_NEAR(emb.norm(2, 1).min().item<double>(), 1.0, 1e-4);
}

TEST_F(Recommender, TopKIsTheBruteForceRankingWithSeenItemsRemoved) {
  for (int64_t row = 0; row < 20; ++row) {
    const auto seen = seen_by(row);
    std::vector<int64_t> seen_rows(seen.begin(), seen.end());
    EXPECT_EQ(rec().seen_items(row), seen_rows);
    const auto got = rec().recommend(dataset().users.ids[row], 10);
    EXPECT_EQ(got.user, dataset().users.ids[row]);
    EXPECT_FALSE(got.cold_start);
    for (const auto& it : got.items) EXPECT_FALSE(seen.count(it.item_row)) << got.user << " saw " << it.item;
    expect_top_k(got, brute_force(row, seen), 10);
  }
  // Asking for the whole catalog returns exactly the unseen items.
  const auto seen = seen_by(0);
  ASSERT_FALSE(seen.empty());
  const auto all = rec().recommend(dataset().users.ids[0], n_items());
  EXPECT_EQ(static_cast<int64_t>(all.items.size()), n_items() - static_cast<int64_t>(seen.size()));
  expect_top_k(all, brute_force(0, seen), n_items());
}

TEST_F(Recommender, IncludeSeenRanksTheWholeCatalog) {
  // Some user's own items rank among their 10 best once they are no longer masked.
  int64_t found = -1;
  for (int64_t row = 0; row < dataset().users.size() && found < 0; ++row) {
    const auto seen = seen_by(row);
    const auto with_seen = rec().recommend(dataset().users.ids[row], 10, true);
    for (const auto& it : with_seen.items)
      if (seen.count(it.item_row)) found = row;
  }
  ASSERT_GE(found, 0) << "no user has a seen item among their top 10";
  const std::string id = dataset().users.ids[found];
  const auto seen = seen_by(found);
  const auto with_seen = rec().recommend(id, 10, true), without = rec().recommend(id, 10, false);
  expect_top_k(with_seen, brute_force(found, {}), 10);
  expect_top_k(without, brute_force(found, seen), 10);
  std::vector<std::string> a, b;
  for (const auto& it : with_seen.items) a.push_back(it.item);
  for (const auto& it : without.items) b.push_back(it.item);
  EXPECT_NE(a, b);
  for (const auto& it : without.items) EXPECT_FALSE(seen.count(it.item_row));
  EXPECT_EQ(static_cast<int64_t>(rec().recommend(id, n_items(), true).items.size()), n_items());
}

TEST_F(Recommender, ColdStartWithAUsersOwnFeaturesIsThatUsersUnmaskedRecommendation) {
  int64_t with_missing = 0;
  for (int64_t row = 0; row < 30; ++row) {
    const std::string id = dataset().users.ids[row];
    const auto features = own_features(row);
    with_missing += static_cast<int64_t>(features.size()) < dataset().users.n_num() + dataset().users.n_cat();
    const auto cold = rec().recommend_new_user(features, 10, id);
    const auto known = rec().recommend(id, 10, /*include_seen=*/true);
    EXPECT_TRUE(cold.cold_start);
    EXPECT_EQ(cold.user, id);
    ASSERT_EQ(cold.items.size(), known.items.size());
    for (size_t r = 0; r < cold.items.size(); ++r) {
      EXPECT_EQ(cold.items[r].item, known.items[r].item) << id << " rank " << r + 1;
      EXPECT_EQ(cold.items[r].score, known.items[r].score) << id << " rank " << r + 1;
    }
  }
  EXPECT_GT(with_missing, 0) << "no user with a missing feature among the first 30: missing values go untested";
  // A user with no features at all still gets a full, finite list.
  const auto empty = rec().recommend_new_user({}, 5);
  EXPECT_EQ(empty.items.size(), 5u);
  EXPECT_TRUE(empty.cold_start);
}

TEST_F(Recommender, BatchEqualsPerUser) {
  // Out of order, with a repeat, across several blocks of 16 and a partial one.
  std::vector<int64_t> rows;
  for (int64_t r = 40; r >= 0; --r) rows.push_back(r);
  rows.push_back(7);
  for (bool include_seen : {false, true}) {
    const auto batch = rec().recommend_batch(rows, 10, include_seen, 16);
    ASSERT_EQ(batch.size(), rows.size());
    for (size_t b = 0; b < rows.size(); ++b) {
      EXPECT_EQ(batch[b].user, dataset().users.ids[rows[b]]);
      EXPECT_FALSE(batch[b].cold_start);
      expect_same_ranking(batch[b], rec().recommend(dataset().users.ids[rows[b]], 10, include_seen));
    }
  }
  EXPECT_TRUE(rec().recommend_batch({}, 10).empty());
}

// recommend_many (POST /recommend/batch): known users, with and without their seen items, and new users, with
// their own k and exclusions, in one call: each list is what the single call gives.
TEST_F(Recommender, ManyAtOnceEqualsEachAlone) {
  std::vector<serve::UserQuery> queries;
  for (int64_t row = 0; row < 12; ++row) {
    serve::UserQuery q;
    q.user_id = dataset().users.ids[row];
    q.k = 3 + row % 5;
    q.include_seen = row % 2 == 1;
    if (row % 3 == 0) q.exclude = {dataset().items.ids[row], "NO_SUCH_ITEM"};
    if (row % 4 == 2) {  // a new user, given this user's own features
      q.has_features = true;
      q.features = own_features(row);
      q.user_id = "new-" + std::to_string(row);
    }
    queries.push_back(q);
  }
  const auto many = rec().recommend_many(queries);
  ASSERT_EQ(many.size(), queries.size());
  int64_t new_users = 0;
  for (size_t i = 0; i < queries.size(); ++i) {
    const auto& q = queries[i];
    const auto alone = q.has_features ? rec().recommend_new_user(q.features, q.k, q.user_id, q.exclude)
                                      : rec().recommend(q.user_id, q.k, q.include_seen, q.exclude);
    EXPECT_EQ(many[i].cold_start, q.has_features);
    EXPECT_EQ(static_cast<int64_t>(many[i].items.size()), q.k);
    expect_same_ranking(many[i], alone);
    new_users += q.has_features ? 1 : 0;
  }
  EXPECT_EQ(new_users, 3);
  EXPECT_TRUE(rec().recommend_many({}).empty());
}

TEST_F(Recommender, ManyAtOnceNamesTheUserAtFault) {
  std::vector<serve::UserQuery> queries(3);
  queries[0].user_id = dataset().users.ids[0];
  queries[1].user_id = dataset().users.ids[1];
  queries[2].user_id = "NOBODY";
  try {
    rec().recommend_many(queries);
    ADD_FAILURE() << "an unknown user was served";
  } catch (const serve::BadUser& e) {
    EXPECT_EQ(e.index, 2u);
    EXPECT_EQ(e.field, "user_id");
    EXPECT_NE(std::string(e.what()).find("NOBODY"), std::string::npos) << e.what();
  }
  queries[2].has_features = true;
  queries[2].features = {{"shoe_size", "3"}};
  try {
    rec().recommend_many(queries);
    ADD_FAILURE() << "an unknown feature was accepted";
  } catch (const serve::BadUser& e) {
    EXPECT_EQ(e.index, 2u);
    EXPECT_EQ(e.field, "features");
    EXPECT_NE(std::string(e.what()).find("shoe_size"), std::string::npos) << e.what();
  }
}

// New users asked from many threads at once share forwards of the user tower; each still gets its own list.
TEST_F(Recommender, ConcurrentNewUsersGetTheirOwnLists) {
  const int64_t rows_before = rec().new_user_rows();
  std::vector<serve::Recommendations> alone;
  for (int64_t row = 0; row < 16; ++row) alone.push_back(rec().recommend_new_user(own_features(row), 5, "u"));
  std::vector<std::thread> threads;
  std::vector<serve::Recommendations> together(16);
  for (int64_t t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int64_t row = t; row < 16; row += 4) together[row] = rec().recommend_new_user(own_features(row), 5, "u");
    });
  for (auto& t : threads) t.join();
  for (int64_t row = 0; row < 16; ++row) expect_same_ranking(together[row], alone[row]);
  EXPECT_EQ(rec().new_user_rows() - rows_before, 32);
}

TEST_F(Recommender, BadRequestsNameWhatIsWrong) {
  const std::string unknown_user = error_message([] { rec().recommend("NOBODY", 5); });
  EXPECT_NE(unknown_user.find("unknown user 'NOBODY'"), std::string::npos) << unknown_user;
  EXPECT_NE(unknown_user.find("users.csv"), std::string::npos) << unknown_user;

  const std::string unknown_feature = error_message([] { rec().recommend_new_user({{"shoe_size", "3"}}, 5); });
  EXPECT_NE(unknown_feature.find("unknown feature 'shoe_size'"), std::string::npos) << unknown_feature;
  const std::string bad_number = error_message([] { rec().recommend_new_user({{"age", "old"}}, 5); });
  EXPECT_NE(bad_number.find("'age'"), std::string::npos) << bad_number;

  // A value beyond the documented range (|x| <= 1e30), or not finite, is refused before any encoding, naming
  // that feature and not the good one.
  for (const std::string v : {"1e300", "1e40", "-1e31", "nan", "inf"}) {
    const std::string beyond = error_message([&] { rec().recommend_new_user({{"country", "ZZ"}, {"age", v}}, 5); });
    EXPECT_EQ(beyond.rfind("feature 'age': ", 0), 0u) << beyond;
    EXPECT_EQ(beyond.find("country"), std::string::npos) << beyond;
  }
  EXPECT_NE(error_message([] {
              rec().recommend_new_user({{"age", "1e40"}}, 5);
            }).find("supported range (|x| <= 1e30)"),
            std::string::npos);
  EXPECT_NO_THROW(rec().recommend_new_user({{"age", "1e3"}}, 5));

  const int64_t n_users = dataset().users.size();
  const std::string bad_row = error_message([&] { rec().recommend_batch({0, n_users}, 5); });
  EXPECT_NE(bad_row.find("user row " + std::to_string(n_users)), std::string::npos) << bad_row;
  const std::string bad_k = error_message([] { rec().recommend(dataset().users.ids[0], 0); });
  EXPECT_NE(bad_k.find("k must be at least 1"), std::string::npos) << bad_k;
}

TEST_F(Recommender, LoadNamesAMissingRun) {
  const std::string missing = error_message([] { serve::Recommender::load(root() / "no-such-run"); });
  EXPECT_NE(missing.find("no-such-run"), std::string::npos) << missing;
}

TEST_F(Recommender, WriteEmbeddingsWritesWhatTheRecommenderScoresWith) {
  const fs::path out = root() / "items.safetensors";
  serve::EncodeOptions options;
  options.side = ftmamba::parse_enum<serve::Side>("item");
  options.with_inputs = true;
  const auto summary = serve::write_embeddings(run_dir(), out, options, torch::kCPU);
  EXPECT_EQ(summary.rows, n_items());
  EXPECT_EQ(summary.dim, 16);
  std::map<std::string, std::string> meta;
  const auto t = ftmamba::io::load_safetensors(out, &meta);
  EXPECT_TRUE(torch::equal(t.at("embeddings"), rec().item_embeddings()));
  EXPECT_EQ(meta.at("side"), "item");
  EXPECT_EQ(nlohmann::json::parse(meta.at("ids")).get<std::vector<std::string>>(), dataset().items.ids);
  const auto inputs = rec().run().item_encoding.transform(dataset().items);
  EXPECT_TRUE(torch::equal(t.at("numerical"), inputs.numerical));
  EXPECT_TRUE(torch::equal(t.at("categorical"), inputs.categorical));

  options.side = serve::Side::kUser;
  options.with_inputs = false;
  const fs::path users = root() / "users.safetensors";
  EXPECT_EQ(serve::write_embeddings(run_dir(), users, options, torch::kCPU).rows, dataset().users.size());
  const auto u = ftmamba::io::load_safetensors(users, &meta);
  EXPECT_EQ(meta.at("side"), "user");
  EXPECT_FALSE(u.count("numerical"));
  EXPECT_EQ(u.at("embeddings").size(0), dataset().users.size());
}

// A copy of the run whose user or item tower has NaN weights (recorded with their hash, so that it loads):
// no NaN ever reaches a printed score or a written embedding; the user or item is named instead.
// A copy of the run whose user or item tower is all NaN, its weights' hashes recorded as a run written so would.
fs::path nan_copy(const fs::path& run_dir, const fs::path& root, const std::string& side) {
  const fs::path dir = root / ("nan-" + side);
  fs::create_directories(dir);
  auto r = run::Run::load(run_dir);
  {
    torch::NoGradGuard no_grad;
    auto& tower = side == "user" ? *r.model->user_tower : *r.model->item_tower;
    for (auto& p : tower.parameters()) p.fill_(std::numeric_limits<float>::quiet_NaN());
  }
  ftmamba::io::write_file_atomic(dir / "config.json", r.config_json().dump(2));
  run::save_model(dir / "model.safetensors", *r.model);
  run::record_weight_hashes(dir);
  return dir;
}

TEST_F(Recommender, NonFiniteEmbeddingsAreNeverScoredOrWritten) {
  const auto nan_copy = [](const std::string& side) { return ::nan_copy(run_dir(), root(), side); };
  const fs::path nan_users = nan_copy("user"), nan_items = nan_copy("item");
  const std::string first_user = dataset().users.ids[0], first_item = dataset().items.ids[0];

  const auto bad_users = serve::Recommender::load(nan_users);
  const std::string known = error_message([&] { bad_users.recommend(first_user, 5); });
  EXPECT_NE(known.find("user '" + first_user + "'"), std::string::npos) << known;
  EXPECT_NE(known.find("non-finite"), std::string::npos) << known;
  EXPECT_NE(error_message([&] {
              bad_users.recommend_batch({0, 1}, 5);
            }).find("user '" + first_user + "'"),
            std::string::npos);
  EXPECT_NE(error_message([&] {
              bad_users.recommend_new_user({{"age", "30"}}, 5, "new");
            }).find("non-finite"),
            std::string::npos);

  serve::EncodeOptions options;
  options.side = serve::Side::kUser;
  const fs::path out = root() / "nan-users.safetensors";
  const std::string encode_users =
      error_message([&] { serve::write_embeddings(nan_users, out, options, torch::kCPU); });
  EXPECT_NE(encode_users.find("users.csv: user '" + first_user + "'"), std::string::npos) << encode_users;
  EXPECT_NE(encode_users.find("non-finite embedding"), std::string::npos) << encode_users;
  EXPECT_FALSE(fs::exists(out));

  const std::string load_items = error_message([&] { serve::Recommender::load(nan_items); });
  EXPECT_NE(load_items.find("item '" + first_item + "'"), std::string::npos) << load_items;
  options.side = serve::Side::kItem;
  const std::string encode_items =
      error_message([&] { serve::write_embeddings(nan_items, out, options, torch::kCPU); });
  EXPECT_NE(encode_items.find("items.csv: item '" + first_item + "'"), std::string::npos) << encode_items;
  EXPECT_FALSE(fs::exists(out));
}

// eval scores every test user against the catalog: a non-finite embedding is refused naming the row, where NaN
// scores once ranked items in file order and reported the metrics of that with success.
TEST_F(Recommender, EvaluationRefusesNonFiniteEmbeddings) {
  const fs::path nan_users = nan_copy(run_dir(), root(), "user"), nan_items = nan_copy(run_dir(), root(), "item");
  const auto evaluate = [](const fs::path& dir) {
    return error_message([&] { ftmamba::eval::evaluate_run(dir, {}, ftmamba::ops::Precision::kFp32, torch::kCPU); });
  };
  const std::string users = evaluate(nan_users);
  EXPECT_NE(users.find((dataset().dir / "users.csv").string() + ": user '" + dataset().users.ids[0] + "'"),
            std::string::npos)
      << users;
  EXPECT_NE(users.find("non-finite embedding, so the model cannot be evaluated"), std::string::npos) << users;
  const std::string items = evaluate(nan_items);
  EXPECT_NE(items.find((dataset().dir / "items.csv").string() + ": item '" + dataset().items.ids[0] + "'"),
            std::string::npos)
      << items;
  EXPECT_NO_THROW(ftmamba::eval::evaluate_run(run_dir(), {}, ftmamba::ops::Precision::kFp32, torch::kCPU));
}

// The table recommend prints: ids from items.csv reach the terminal with their control characters escaped.
TEST(RecommendationTable, EscapesControlCharactersOfItemIds) {
  serve::Recommendations recs;
  recs.user = "U1";
  recs.items = {{.rank = 1, .item = "T1\x1b[31m", .item_row = 0, .score = 0.5},
                {.rank = 2, .item = "T2", .item_row = 1, .score = -0.25}};
  const std::string table = serve::to_table(recs);
  EXPECT_EQ(table,
            "rank  item                         score\n"
            "   1  T1\\x1b[31m                  0.5000\n"
            "   2  T2                         -0.2500\n");
  EXPECT_EQ(table.find('\x1b'), std::string::npos);
}

// encode's --out may not replace a file it reads: the run's weights once became embeddings that way.
TEST_F(Recommender, EncodeNeverReplacesAFileOfItsInputs) {
  serve::EncodeOptions options;
  options.side = serve::Side::kUser;
  for (const fs::path& input : {run_dir() / "model.safetensors", run_dir() / "config.json", data_dir() / "users.csv"}) {
    const std::string before = ftmamba::io::read_file(input);
    const std::string msg = error_message([&] { serve::write_embeddings(run_dir(), input, options, torch::kCPU); });
    EXPECT_NE(msg.find("--out " + input.string() + " is a file of the input folder"), std::string::npos) << msg;
    EXPECT_EQ(ftmamba::io::read_file(input), before) << input;
  }
  // Another file in the run folder is fine, and so is writing it again.
  const fs::path beside = run_dir() / "user-embeddings.safetensors";
  EXPECT_EQ(serve::write_embeddings(run_dir(), beside, options, torch::kCPU).rows, dataset().users.size());
  EXPECT_EQ(serve::write_embeddings(run_dir(), beside, options, torch::kCPU).rows, dataset().users.size());
  fs::remove(beside);
}

// The users and items a run stores (inference.safetensors) answer as the dataset does, and the file is used
// before the dataset; a file whose categories do not fit the run's vocabularies is refused, naming it.
TEST_F(Recommender, StoredUsersAndItemsAnswerAsTheDataset) {
  const fs::path copy = root() / "stored";
  fs::create_directories(copy);
  for (const char* f : {"config.json", "model.safetensors"}) fs::copy_file(run_dir() / f, copy / f);
  const auto& r = rec().run();
  auto stored = run::InferenceData::from_dataset(dataset(), r.user_encoding, r.item_encoding);
  stored.save(copy);
  const auto from_file = serve::Recommender::load(copy);
  EXPECT_EQ(from_file.data().users_source, copy / run::kInferenceFile);
  EXPECT_EQ(from_file.data().user_ids, dataset().users.ids);
  EXPECT_EQ(from_file.data().item_ids, dataset().items.ids);
  EXPECT_TRUE(torch::equal(from_file.item_embeddings(), rec().item_embeddings()));
  for (int64_t row = 0; row < dataset().users.size(); row += 97) {
    EXPECT_EQ(from_file.seen_items(row), rec().seen_items(row));
    const std::string id = dataset().users.ids[row];
    const auto a = from_file.recommend(id, 10), b = rec().recommend(id, 10);
    ASSERT_EQ(a.items.size(), b.items.size());
    for (size_t i = 0; i < a.items.size(); ++i) {
      EXPECT_EQ(a.items[i].item, b.items[i].item) << id;
      EXPECT_EQ(a.items[i].score, b.items[i].score) << id;
    }
  }
  const auto cold = from_file.recommend_new_user(own_features(3), 5),
             known = rec().recommend_new_user(own_features(3), 5);
  for (size_t i = 0; i < cold.items.size(); ++i) EXPECT_EQ(cold.items[i].item, known.items[i].item);
  // --data wins over the stored file.
  EXPECT_EQ(serve::Recommender::load(copy, data_dir()).data().users_source, data_dir() / "users.csv");

  stored.items.categorical[0][0] = r.item_encoding.total_categories();  // beyond every vocabulary
  stored.save(copy);
  const std::string bad = error_message([&] { serve::Recommender::load(copy); });
  EXPECT_NE(bad.find((copy / run::kInferenceFile).string() + ": tensor 'items.categorical'"), std::string::npos) << bad;
  EXPECT_NE(bad.find("outside its vocabulary"), std::string::npos) << bad;
}
