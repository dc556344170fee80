// Non-finite steps in the trainer: a batch whose loss is not finite changes nothing and training goes on (the
// weights stay finite and every epoch's loss is finite), and too many in a row stop the run with an error
// naming train.max_nonfinite_steps. On a GPU too.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>

#include "ftmamba/core/error.h"
#include "ftmamba/run/config.h"
#include "ftmamba/run/run.h"
#include "ftmamba/train/trainer.h"
#include "generated_data_suite.h"
#include "gpu_skip.h"

namespace run = ftmamba::run;
namespace train = ftmamba::train;

namespace {

run::RunConfig small_config() {
  run::RunConfig cfg;
  cfg.model.d_token = 16;
  cfg.model.embed_dim = 16;
  cfg.train.epochs = 2;
  cfg.train.batch_size = 128;
  cfg.train.valid_users = 200;
  cfg.train.patience = 0;
  return cfg;
}

bool finite(torch::nn::Module& m) {
  for (const auto& p : m.parameters())
    if (!torch::isfinite(p).all().item<bool>()) return false;
  return true;
}

class NonfiniteSteps : public ftmamba_test::GeneratedDataSuite<3000, 11> {};

// One user's numerical features become NaN: every batch holding one of their pairs has a NaN loss. On a GPU
// the skip is decided on the device, inside the captured step (cuda_graph defaults on).
void skips_nan_batches_and_goes_on(const std::filesystem::path& data_dir, torch::Device device) {
  auto cfg = small_config();
  cfg.train.max_nonfinite_steps = 1000;
  auto data = run::prepare_data(data_dir, cfg);
  const int64_t user = data.dataset.interactions.user[data.split.train.front()];
  data.users.numerical[user].fill_(std::nan(""));
  torch::manual_seed(1);
  auto model = run::build_model(cfg, data.user_encoding, data.item_encoding);
  model->to(device);
  train::TrainOptions quiet;
  quiet.quiet = true;
  const auto result = train::train_two_tower(model, data, cfg, quiet);
  EXPECT_GT(result.nonfinite_steps, 0);
  const int64_t steps = cfg.train.epochs * ((static_cast<int64_t>(data.split.train.size()) + 127) / 128);
  EXPECT_LT(result.nonfinite_steps, steps / 2);
  EXPECT_TRUE(finite(*model));
  ASSERT_EQ(result.history.size(), 2u);
  for (const auto& e : result.history) EXPECT_TRUE(std::isfinite(e.loss)) << e.loss;
}

TEST_F(NonfiniteSteps, ABatchWithANonFiniteLossIsSkippedAndTrainingGoesOn) {
  skips_nan_batches_and_goes_on(data_dir(), torch::kCPU);
}

TEST_F(NonfiniteSteps, OnAGpuTheSkipIsDecidedOnTheDevice) {
  SKIP_WITHOUT_GPU();
  skips_nan_batches_and_goes_on(data_dir(), torch::Device(torch::kCUDA, 0));
}

TEST_F(NonfiniteSteps, TooManyInARowStopTheRun) {
  auto cfg = small_config();
  cfg.train.max_nonfinite_steps = 3;
  const auto data = run::prepare_data(data_dir(), cfg);
  torch::manual_seed(1);
  auto model = run::build_model(cfg, data.user_encoding, data.item_encoding);
  {
    torch::NoGradGuard no_grad;
    model->parameters().front().fill_(std::nan(""));  // every step's loss is NaN from the start
  }
  train::TrainOptions quiet;
  quiet.quiet = true;
  try {
    train::train_two_tower(model, data, cfg, quiet);
    FAIL() << "training went on";
  } catch (const ftmamba::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("4 steps in a row had a non-finite loss or gradient"), std::string::npos) << what;
    EXPECT_NE(what.find("epoch 1 step 4"), std::string::npos) << what;
    EXPECT_NE(what.find("train.max_nonfinite_steps = 3"), std::string::npos) << what;
  }
}

}  // namespace
