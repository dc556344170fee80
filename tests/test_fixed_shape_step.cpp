// Tests the fixed-shape training step that GPUs run (and capture in a CUDA graph): its loss equals the
// distinct-item in-batch softmax with accidental hits removed, in value and gradient; on the CPU it trains
// as the deduplicating CPU step does; on a GPU the replayed graph trains as the eager step does.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "ftmamba/run/config.h"
#include "ftmamba/run/run.h"
#include "ftmamba/train/fixed_shape_step.h"
#include "ftmamba/train/losses.h"
#include "ftmamba/train/optimizer.h"
#include "ftmamba/train/trainer.h"
#include "generated_data_suite.h"
#include "gpu_skip.h"

using namespace ftmamba;
namespace fs = std::filesystem;

namespace {

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.detach().to(torch::kCPU, torch::kFloat64) - b.detach().to(torch::kCPU, torch::kFloat64))
      .abs()
      .max()
      .item<double>();
}

TEST(FixedShapeLoss, EqualsTheDistinctItemSoftmaxInValueAndGradient) {
  // Repeats of every kind: user 11 has three pairs, two of item 101 (rows 1, 6); item 100 is a positive of
  // users 10 (row 0, its first column) and 12 (row 5), so row 2 and row 7 (user 12's other pairs) must not
  // see column 0, though the pair that hides it (row 5) is not that column.
  const std::vector<int64_t> users_v = {10, 11, 12, 11, 13, 12, 11, 12};
  const std::vector<int64_t> items_v = {100, 101, 102, 103, 104, 100, 101, 105};
  const int64_t b = static_cast<int64_t>(users_v.size()), e = 5;
  std::vector<int64_t> distinct, column, first_col;
  std::map<int64_t, int64_t> pos;
  for (int64_t j = 0; j < b; ++j) {
    auto [it, fresh] = pos.emplace(items_v[j], static_cast<int64_t>(distinct.size()));
    if (fresh) distinct.push_back(items_v[j]);
    column.push_back(it->second);
    first_col.push_back(std::find(items_v.begin(), items_v.end(), items_v[j]) - items_v.begin());
  }
  const int64_t u = static_cast<int64_t>(distinct.size());
  torch::manual_seed(3);
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  const auto cols = torch::tensor(column), users = torch::tensor(users_v), first = torch::tensor(first_col);
  const auto user_a = torch::randn({b, e}, f64).requires_grad_(true);
  const auto item_a = torch::randn({u, e}, f64).requires_grad_(true);
  const auto user_b = user_a.detach().clone().requires_grad_(true);
  const auto item_b = item_a.detach().clone().requires_grad_(true);
  const auto log_q = torch::randn({u}, f64);
  const double t = 0.3;

  const auto mask = train::accidental_hit_mask(users, cols, u);
  ASSERT_TRUE(mask[2][0].item<bool>()) << "the batch must exercise a hit hidden through another pair's column";
  const auto want = train::in_batch_softmax_loss(user_a, item_a, cols, mask, log_q, t);
  // One item row per pair; the gradient of the repeated rows flows back to the distinct item's row.
  const auto got = train::in_batch_softmax_loss_fixed(user_b, item_b.index_select(0, cols), users, first,
                                                      log_q.index_select(0, cols), t);
  // The loss takes its softmax in float32, so the two agree to float32 rounding.
  EXPECT_NEAR(got.item<double>(), want.item<double>(), 1e-6);
  want.backward();
  got.backward();
  EXPECT_LT(max_abs_diff(user_b.grad(), user_a.grad()), 1e-6);
  EXPECT_LT(max_abs_diff(item_b.grad(), item_a.grad()), 1e-6);
  EXPECT_GT(item_a.grad().abs().max().item<double>(), 1e-2);
  // Without the hidden hits the value differs, so the comparison above sees them.
  const auto plain = train::in_batch_softmax_loss(user_a, item_a, cols, torch::Tensor(), log_q, t);
  EXPECT_GT(std::abs(plain.item<double>() - want.item<double>()), 1e-3);
}

// A small generated dataset and a model config without dropout, so that two steps on one batch agree.
class FixedShapeStepTest : public ftmamba_test::GeneratedDataSuite<3000, 5> {
 protected:
  static run::RunConfig config(const std::string& loss) {
    run::RunConfig cfg;
    cfg.model.d_token = 16;
    cfg.model.embed_dim = 16;
    cfg.model.n_layers = 1;
    cfg.model.attention_dropout = cfg.model.ffn_dropout = cfg.model.residual_dropout = 0.0;
    cfg.train.batch_size = 256;
    cfg.set("train.loss", loss);
    return cfg;
  }
};

// Gives the interactions a weight column with weights from 0.2 to 5, so steps run weighted.
void add_weights(run::PreparedData& data) {
  data.dataset.schema.interactions.weight = "rating";
  auto& w = data.dataset.interactions.weight;
  for (size_t r = 0; r < w.size(); ++r) w[r] = 0.2 + static_cast<double>((r * 7919) % 97) / 20.0;
}

// Runs `steps` batches of the training split through a StepRunner on `device`; returns each step's loss and
// leaves the trained model in `model`. Batch 3 is a short one (the last of an epoch, run eagerly).
std::vector<double> train_steps(const run::PreparedData& data, const run::RunConfig& cfg, torch::Device device,
                                int steps, nn::TwoTower& model, bool* graphed = nullptr) {
  torch::manual_seed(11);
  model = run::build_model(cfg, data.user_encoding, data.item_encoding);
  model->to(device);
  train::StepRunner runner(model, data, cfg, steps);
  std::vector<double> losses;
  const int64_t batch = cfg.train.batch_size;
  for (int s = 0; s < steps; ++s) {
    const int64_t len = s == 3 ? batch / 2 + 1 : batch;
    losses.push_back(runner.step(data.split.train.data() + s * batch, len));
  }
  if (graphed) *graphed = runner.graph_captured();
  return losses;
}

TEST_F(FixedShapeStepTest, TrainsAsTheDeduplicatingCpuStep) {
  for (const std::string loss : {"softmax", "bce", "weighted softmax", "weighted bce"}) {
    SCOPED_TRACE(loss);
    const bool weighted = loss.rfind("weighted ", 0) == 0;
    const auto cfg = config(weighted ? loss.substr(9) : loss);
    auto data = run::prepare_data(data_dir(), cfg);
    if (weighted) add_weights(data);
    const auto pair_weight = train::training_pair_weights(data, cfg.train);
    ASSERT_EQ(pair_weight.empty(), !weighted);
    ASSERT_GE(static_cast<int64_t>(data.split.train.size()), 5 * cfg.train.batch_size);
    nn::TwoTower reference{nullptr}, fixed{nullptr};
    const auto want = train_steps(data, cfg, torch::kCPU, 5, reference);
    // The weights change the loss from the very first step (same model, same batch).
    static std::map<std::string, double> unweighted_first;
    if (!weighted)
      unweighted_first[loss] = want[0];
    else
      EXPECT_GT(std::abs(want[0] - unweighted_first.at(loss.substr(9))), 1e-4);

    // The same batches through FixedShapeStep on the CPU, with the StepRunner's learning rates and, for bce,
    // the negatives the StepRunner drew (the same generator, seeded the same way).
    torch::manual_seed(11);
    fixed = run::build_model(cfg, data.user_encoding, data.item_encoding);
    const auto log_q = torch::tensor(train::item_sampling_log_q(data)).to(torch::kFloat32);
    train::FixedShapeStep step(fixed, data.users, data.items, log_q, cfg.train, cfg.train.batch_size,
                               /*use_graph=*/false, weighted);
    const train::LrSchedule schedule(cfg.train.lr, 5, cfg.train.warmup_frac, cfg.train.min_lr_ratio);
    std::mt19937_64 rng(static_cast<uint64_t>(cfg.train.seed) * 0x9E3779B97F4A7C15ULL + 1);
    const auto& inter = data.dataset.interactions;
    for (int s = 0; s < 5; ++s) {
      const int64_t batch = cfg.train.batch_size, len = s == 3 ? batch / 2 + 1 : batch;
      std::vector<int64_t> users, items;
      std::vector<float> weights;
      for (int64_t i = 0; i < len; ++i) {
        users.push_back(inter.user[data.split.train[s * batch + i]]);
        items.push_back(inter.item[data.split.train[s * batch + i]]);
        if (weighted) weights.push_back(pair_weight[data.split.train[s * batch + i]]);
      }
      std::uniform_int_distribution<int64_t> random_item(0, data.items.size() - 1);
      if (cfg.train.loss != run::LossKind::kSoftmax)
        for (int64_t i = 0; i < len * cfg.train.negatives; ++i) items.push_back(random_item(rng));
      const double got =
          step.step(users.data(), items.data(), len, schedule.at(s), weighted ? weights.data() : nullptr);
      EXPECT_NEAR(got, want[s], 1e-5 * std::abs(want[s])) << "step " << s;
    }
    EXPECT_NE(want[0], want[4]) << "the model must learn for the later steps to mean anything";
    EXPECT_LT(max_abs_diff(fixed->item_tower->parameters()[0], reference->item_tower->parameters()[0]), 1e-4);
  }
}

TEST_F(FixedShapeStepTest, CudaGraphReplayTrainsAsTheEagerStep) {
  SKIP_WITHOUT_GPU();
  if (!train::FixedShapeStep::graphs_supported())
    GTEST_SKIP() << "GPU test skipped: graph capture needs LibTorch >= 2.1";
  for (const std::string loss : {"softmax", "bce", "weighted softmax"}) {
    SCOPED_TRACE(loss);
    const bool weighted = loss.rfind("weighted ", 0) == 0;
    auto cfg = config(weighted ? loss.substr(9) : loss);
    auto data = run::prepare_data(data_dir(), cfg);
    if (weighted) add_weights(data);
    // 8 steps: 2 warm-up, the capture, a short eager batch, then replays after it.
    nn::TwoTower cpu{nullptr}, eager{nullptr}, graph{nullptr};
    const auto on_cpu = train_steps(data, cfg, torch::kCPU, 8, cpu);
    cfg.train.cuda_graph = false;
    bool graphed = true;
    const auto eager_losses = train_steps(data, cfg, torch::Device(torch::kCUDA, 0), 8, eager, &graphed);
    EXPECT_FALSE(graphed);
    cfg.train.cuda_graph = true;
    const auto graph_losses = train_steps(data, cfg, torch::Device(torch::kCUDA, 0), 8, graph, &graphed);
    EXPECT_TRUE(graphed);
    for (size_t s = 0; s < graph_losses.size(); ++s) {
      EXPECT_NEAR(graph_losses[s], eager_losses[s], 1e-4 * std::abs(eager_losses[s])) << "step " << s;
      EXPECT_NEAR(eager_losses[s], on_cpu[s], 1e-3 * std::abs(on_cpu[s])) << "step " << s;
    }
    auto gp = graph->parameters(), ep = eager->parameters();
    double worst = 0;
    for (size_t i = 0; i < gp.size(); ++i) worst = std::max(worst, max_abs_diff(gp[i], ep[i]));
    EXPECT_LT(worst, 1e-3);
  }
}

}  // namespace
