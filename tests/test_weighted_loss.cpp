// The interactions' weight column: with train.weighted_loss, heavier pairs pull the model harder (the scores of
// heavy pairs rise against light ones compared with the same training unweighted), and data.min_weight turns
// weights into positives by dropping the light interactions before the split.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "ftmamba/core/error.h"
#include "ftmamba/data/schema.h"
#include "ftmamba/nn/two_tower.h"
#include "ftmamba/run/config.h"
#include "ftmamba/run/run.h"
#include "ftmamba/train/trainer.h"
#include "generated_data_suite.h"

namespace fs = std::filesystem;
namespace run = ftmamba::run;
namespace train = ftmamba::train;

namespace {

class WeightColumn : public ftmamba_test::GeneratedDataSuite<4000, 21> {
 protected:
  static run::RunConfig config() {
    run::RunConfig cfg;
    cfg.model.d_token = 16;
    cfg.model.embed_dim = 16;
    cfg.model.n_layers = 1;
    cfg.train.epochs = 3;
    cfg.train.batch_size = 128;
    cfg.train.valid_users = 100;
    cfg.train.patience = 0;
    return cfg;
  }
  // An even item is "loved": weight 5; an odd one weighs 0.2.
  static double weight_of(int64_t item) { return item % 2 == 0 ? 5.0 : 0.2; }

  // Mean score of the training pairs with loved items minus that of the others.
  static double loved_gap(ftmamba::nn::TwoTower& model, const run::PreparedData& data) {
    torch::NoGradGuard no_grad;
    model->eval();
    const auto users = model->encode_users(data.users), items = model->encode_items(data.items);
    double sum[2] = {0, 0};
    int64_t n[2] = {0, 0};
    const auto& in = data.dataset.interactions;
    for (const int64_t r : data.split.train) {
      const int loved = in.item[r] % 2 == 0;
      sum[loved] += (users[in.user[r]] * items[in.item[r]]).sum().item<double>();
      ++n[loved];
    }
    return sum[1] / n[1] - sum[0] / n[0];
  }
};

TEST_F(WeightColumn, HeavierPairsPullTheModelHarder) {
  const auto cfg = config();
  auto data = run::prepare_data(data_dir(), cfg);
  data.dataset.schema.interactions.weight = "rating";
  auto& in = data.dataset.interactions;
  for (int64_t r = 0; r < in.size(); ++r) in.weight[r] = weight_of(in.item[r]);
  const auto weights = train::training_pair_weights(data, cfg.train);
  double mean = 0;
  for (const int64_t r : data.split.train) mean += weights[r];
  EXPECT_NEAR(mean / static_cast<double>(data.split.train.size()), 1.0, 1e-5);

  train::TrainOptions quiet;
  quiet.quiet = true;
  double gap[2];
  for (const bool weighted : {false, true}) {
    auto c = cfg;
    c.train.weighted_loss = weighted;
    torch::manual_seed(4);
    auto model = run::build_model(c, data.user_encoding, data.item_encoding);
    train::train_two_tower(model, data, c, quiet);
    gap[weighted] = loved_gap(model, data);
  }
  // Weighted training favours the loved items more than unweighted training does (the same seeds and batches:
  // without the weights the two gaps are equal). Scores are cosines, so 0.01 is a visible shift.
  EXPECT_GT(gap[1], gap[0] + 0.01) << "unweighted gap " << gap[0] << ", weighted " << gap[1];
}

TEST_F(WeightColumn, MinWeightKeepsOnlyThePositives) {
  // A copy of the dataset whose interactions carry a rating column.
  const fs::path dir = root() / "rated";
  fs::create_directories(dir);
  for (const char* f : {"users.csv", "items.csv"}) fs::copy_file(data_dir() / f, dir / f);
  std::ifstream src(data_dir() / "interactions.csv");
  std::ofstream dst(dir / "interactions.csv");
  std::string line;
  std::getline(src, line);
  dst << line << ",rating\n";
  int64_t row = 0, high = 0;
  while (std::getline(src, line)) {
    const int rating = 1 + static_cast<int>(row++ % 5);  // 1..5 in turn
    high += rating >= 4;
    dst << line << "," << rating << "\n";
  }
  dst.close();
  auto schema = ftmamba::data::Schema::load(data_dir() / "schema.toml");
  schema.interactions.weight = "rating";
  std::ofstream(dir / "schema.toml") << schema.to_toml();

  auto cfg = config();
  EXPECT_EQ(run::prepare_data(dir, cfg).dataset.interactions.size(), row);
  cfg.data.min_weight = 4;
  const auto kept = run::prepare_data(dir, cfg);
  EXPECT_EQ(kept.dataset.interactions.size(), high);
  for (const double w : kept.dataset.interactions.weight) EXPECT_GE(w, 4.0);

  // Without a weight column the threshold has nothing to read.
  try {
    run::prepare_data(data_dir(), cfg);
    ADD_FAILURE() << "min_weight without a weight column was accepted";
  } catch (const ftmamba::Error& e) {
    EXPECT_NE(std::string(e.what()).find("data.min_weight = 4 needs a weight column"), std::string::npos) << e.what();
  }
}

}  // namespace
