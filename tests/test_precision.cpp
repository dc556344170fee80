// Precision (train/precision): parsing, the autocast scope (what runs in bf16 inside it and what is restored
// after it), pure-bf16 weights, the dynamic loss scaler's arithmetic (scale, unscale, skip, back-off, growth),
// the optimizer skipping a flagged step, and training steps in mixed and pure bf16 against fp32 (fp16 with
// loss scaling and a captured graph on a GPU).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "ftmamba/core/error.h"
#include "ftmamba/ops/precision.h"
#include "ftmamba/run/config.h"
#include "ftmamba/run/run.h"
#include "ftmamba/train/fixed_shape_step.h"
#include "ftmamba/train/multi_tensor_adamw.h"
#include "ftmamba/train/trainer.h"
#include "generated_data_suite.h"
#include "gpu_skip.h"

namespace fs = std::filesystem;
namespace train = ftmamba::train;
namespace nn = ftmamba::nn;
namespace ops = ftmamba::ops;
namespace run = ftmamba::run;
using ops::Precision;

TEST(Precision, ParsesEveryNameAndRejectsOthers) {
  for (const std::string name : {"fp32", "bf16", "fp16", "bf16-pure"})
    EXPECT_EQ(ftmamba::enum_name(ftmamba::parse_enum<Precision>(name)), name);
  try {
    ftmamba::parse_enum<Precision>("fp8");
    FAIL() << "fp8 must be rejected";
  } catch (const ftmamba::Error& e) {
    EXPECT_NE(std::string(e.what()).find("known: fp32, bf16, fp16, bf16-pure"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ops::check_precision_supported(Precision::kFp16, torch::kCPU), ftmamba::Error);
  EXPECT_NO_THROW(ops::check_precision_supported(Precision::kBf16, torch::kCPU));
}

TEST(Precision, AutocastScopeRunsMatmulsInBf16AndRestoresOnExit) {
  const auto a = torch::randn({8, 16}), b = torch::randn({16, 4});
  {
    ops::AutocastScope scope(Precision::kBf16, torch::kCPU);
    EXPECT_EQ(torch::matmul(a, b).scalar_type(), torch::kBFloat16);
    EXPECT_EQ((a + 1).scalar_type(), torch::kFloat32);  // elementwise work keeps its dtype
    {
      ops::AutocastScope nested(Precision::kFp32, torch::kCPU);  // fp32 changes nothing
      EXPECT_EQ(torch::matmul(a, b).scalar_type(), torch::kBFloat16);
    }
    EXPECT_EQ(torch::matmul(a, b).scalar_type(), torch::kBFloat16);
  }
  EXPECT_EQ(torch::matmul(a, b).scalar_type(), torch::kFloat32);
  {
    ops::AutocastScope pure(Precision::kBf16Pure, torch::kCPU);  // pure: the weights carry the dtype
    EXPECT_EQ(torch::matmul(a, b).scalar_type(), torch::kFloat32);
  }
}

TEST(Precision, PureBf16CastsEveryWeightAndTheOthersLeaveThem) {
  for (const auto p : {Precision::kFp32, Precision::kBf16, Precision::kBf16Pure}) {
    torch::nn::Linear m(4, 3);
    ops::cast_weights(*m, p);
    const auto want = p == Precision::kBf16Pure ? torch::kBFloat16 : torch::kFloat32;
    for (const auto& t : m->parameters()) EXPECT_EQ(t.scalar_type(), want) << ftmamba::enum_name(p);
  }
}

TEST(DynamicLossScaler, ScalesUnscalesSkipsBacksOffAndGrows) {
  ops::DynamicLossScaler s(torch::kCPU, /*init_scale=*/1024.0, /*growth=*/2.0, /*backoff=*/0.5, /*interval=*/3);
  EXPECT_DOUBLE_EQ(s.scale(torch::tensor(0.75)).item<double>(), 768.0);

  auto g1 = torch::tensor({2048.0f, -512.0f}), g2 = torch::tensor({1.0f});
  s.unscale({g1, g2});
  EXPECT_TRUE(torch::equal(g1, torch::tensor({2.0f, -0.5f})));
  EXPECT_FLOAT_EQ(g2.item<float>(), 1.0f / 1024.0f);
  EXPECT_EQ(s.found_inf().item<float>(), 0.0f);
  s.update();  // clean step 1 of 3
  EXPECT_DOUBLE_EQ(s.current_scale(), 1024.0);

  auto bad = torch::tensor({1.0f, std::numeric_limits<float>::infinity()});
  s.unscale({g2, bad});
  EXPECT_EQ(s.found_inf().item<float>(), 1.0f);
  s.update();  // overflow: halve, restart the clean count
  EXPECT_DOUBLE_EQ(s.current_scale(), 512.0);
  EXPECT_EQ(s.skipped_steps(), 1);

  auto nan = torch::tensor({std::nanf("")});
  s.unscale({nan});
  EXPECT_EQ(s.found_inf().item<float>(), 1.0f);
  s.update();
  EXPECT_DOUBLE_EQ(s.current_scale(), 256.0);
  EXPECT_EQ(s.skipped_steps(), 2);

  for (int i = 0; i < 3; ++i) {  // three clean steps in a row: the scale doubles once, on the third
    s.unscale({torch::ones({2})});
    s.update();
    EXPECT_DOUBLE_EQ(s.current_scale(), i < 2 ? 256.0 : 512.0) << "clean step " << i;
  }
  EXPECT_EQ(s.skipped_steps(), 2);
}

TEST(MultiTensorAdamWPrecision, AFlaggedStepChangesNothingAndACleanOneMatchesNoFlag) {
  torch::manual_seed(4);
  torch::nn::Linear a(5, 3), b(5, 3);
  {
    torch::NoGradGuard g;
    for (size_t i = 0; i < a->parameters().size(); ++i) b->parameters()[i].copy_(a->parameters()[i]);
  }
  train::MultiTensorAdamW opt_a(*a, 0.01), opt_b(*b, 0.01);
  const auto x = torch::randn({7, 5});
  const auto grads = [&](torch::nn::Linear& m, train::MultiTensorAdamW& o) {
    o.zero_grad();
    m->forward(x).pow(2).sum().backward();
  };
  const auto before = a->weight.detach().clone();
  grads(a, opt_a);
  opt_a.set_lr(0.1);
  opt_a.apply(1.0, torch::ones({}));  // flagged: skipped
  EXPECT_TRUE(torch::equal(a->weight, before));
  // Clean steps with and without a zero flag agree exactly; the skipped step did not advance the count
  // (a's first real step has the same bias correction as b's).
  for (int step = 0; step < 2; ++step) {
    grads(a, opt_a);
    grads(b, opt_b);
    opt_a.set_lr(0.1);
    opt_b.set_lr(0.1);
    opt_a.apply(1.0, torch::zeros({}));
    opt_b.apply(1.0);
    EXPECT_TRUE(torch::equal(a->weight, b->weight)) << "step " << step;
  }
  EXPECT_FALSE(torch::equal(a->weight, before));
}

// A small generated dataset and a dropout-free model, so that steps are comparable across precisions.
class PrecisionTraining : public ftmamba_test::GeneratedDataSuite<3000, 5> {
 protected:
  static run::RunConfig config(const std::string& precision) {
    run::RunConfig cfg;
    cfg.model.d_token = 16;
    cfg.model.embed_dim = 16;
    cfg.model.n_layers = 2;
    cfg.model.attention_dropout = cfg.model.ffn_dropout = cfg.model.residual_dropout = 0.0;
    cfg.train.batch_size = 256;
    cfg.set("train.precision", precision);
    return cfg;
  }
  // `steps` full batches (cfg.train.batch_size pairs) through a StepRunner; the model is left in `model`, its
  // weights before the first step in `initial` when given.
  static std::vector<double> steps(const run::RunConfig& cfg, torch::Device device, int n, nn::TwoTower& model,
                                   int64_t* skipped = nullptr, std::vector<torch::Tensor>* initial = nullptr) {
    const auto data = run::prepare_data(data_dir(), cfg);
    torch::manual_seed(11);
    model = run::build_model(cfg, data.user_encoding, data.item_encoding);
    model->to(device);
    if (initial)
      for (const auto& p : model->parameters()) initial->push_back(p.detach().clone());
    train::StepRunner runner(model, data, cfg, n);
    std::vector<double> losses;
    const int64_t batch = cfg.train.batch_size;
    for (int s = 0; s < n; ++s) losses.push_back(runner.step(data.split.train.data() + s * batch, batch));
    if (skipped) *skipped = runner.skipped_steps();
    return losses;
  }
};

TEST_F(PrecisionTraining, MixedBf16FollowsFp32AndKeepsFloat32Weights) {
  nn::TwoTower fp32{nullptr}, bf16{nullptr}, pure{nullptr};
  const auto want = steps(config("fp32"), torch::kCPU, 6, fp32);
  const auto got = steps(config("bf16"), torch::kCPU, 6, bf16);
  bool any_differs = false;
  for (size_t s = 0; s < want.size(); ++s) {
    EXPECT_NEAR(got[s], want[s], 0.03 * std::abs(want[s])) << "step " << s;
    any_differs = any_differs || got[s] != want[s];
  }
  EXPECT_TRUE(any_differs) << "bf16 autocast must change the arithmetic";
  EXPECT_LT(want.back(), want.front()) << "the model must learn for the comparison to mean anything";
  for (const auto& p : bf16->parameters()) EXPECT_EQ(p.scalar_type(), torch::kFloat32);

  const auto pure_losses = steps(config("bf16-pure"), torch::kCPU, 6, pure);
  for (const auto& p : pure->parameters()) EXPECT_EQ(p.scalar_type(), torch::kBFloat16);
  for (double l : pure_losses) EXPECT_TRUE(std::isfinite(l));
  EXPECT_NEAR(pure_losses.front(), want.front(), 0.05 * std::abs(want.front()));
}

// Below fp32 on the CPU a step's encoded users and items are padded to a multiple of train.cpu_row_bucket
// rows. Batches of 16 pairs (at most 16 distinct users / items, padded to 64: the padding is most of each
// encoded batch) must follow the unpadded steps: the padding's outputs are dropped, so it neither joins the
// in-batch softmax (48 extra copies of one item there would move the loss by tens of percent) nor sends
// gradient into the model. Not bitwise: oneDNN's bf16 kernels differ with the matrix shape, and AdamW
// magnifies their rounding in near-zero gradients, so the weights' changes are compared as wholes.
TEST_F(PrecisionTraining, PaddedCpuRowsLeaveBf16StepsAsTheyWere) {
  const auto run = [&](int64_t bucket, std::vector<torch::Tensor>& change) {
    auto cfg = config("bf16");
    cfg.train.batch_size = 16;
    cfg.train.cpu_row_bucket = bucket;
    nn::TwoTower model{nullptr};
    std::vector<torch::Tensor> before;
    const auto losses = steps(cfg, torch::kCPU, 5, model, nullptr, &before);
    const auto after = model->parameters();
    for (size_t i = 0; i < after.size(); ++i) change.push_back(after[i].detach() - before[i]);
    return losses;
  };
  std::vector<torch::Tensor> plain, padded;
  const auto want = run(1, plain);
  const auto got = run(64, padded);
  for (size_t s = 0; s < want.size(); ++s) EXPECT_NEAR(got[s], want[s], 0.01 * std::abs(want[s])) << "step " << s;
  EXPECT_NE(want.front(), want.back()) << "the steps must change the model for the comparison to mean anything";
  ASSERT_EQ(plain.size(), padded.size());
  double diff = 0, norm = 0;
  for (size_t i = 0; i < plain.size(); ++i) {
    diff += (padded[i] - plain[i]).pow(2).sum().item<double>();
    norm += plain[i].pow(2).sum().item<double>();
  }
  EXPECT_GT(norm, 0.0);
  EXPECT_LT(std::sqrt(diff / norm), 0.1) << "the padded steps must move the weights as the unpadded ones do";
}

TEST(Precision, CpuRowBucketMustBePositive) {
  run::RunConfig cfg;
  cfg.train.cpu_row_bucket = 0;
  EXPECT_THROW(cfg.validate(), ftmamba::Error);
  cfg.train.cpu_row_bucket = 1;
  EXPECT_NO_THROW(cfg.validate());
}

TEST_F(PrecisionTraining, Fp16OnTheCpuIsRefusedWithTheReason) {
  nn::TwoTower m{nullptr};
  try {
    steps(config("fp16"), torch::kCPU, 1, m);
    FAIL() << "fp16 on the CPU must be refused";
  } catch (const ftmamba::Error& e) {
    EXPECT_NE(std::string(e.what()).find("needs a GPU"), std::string::npos) << e.what();
  }
}

TEST_F(PrecisionTraining, CudaMixedPrecisionStepsFollowFp32InAGraph) {
  SKIP_WITHOUT_GPU();
  const torch::Device gpu(torch::kCUDA, 0);
  nn::TwoTower fp32{nullptr}, m{nullptr};
  const auto want = steps(config("fp32"), gpu, 8, fp32);
  for (const std::string p : {"bf16", "fp16"}) {
    SCOPED_TRACE(p);
    int64_t skipped = -1;
    const auto got = steps(config(p), gpu, 8, m, &skipped);
    for (size_t s = 0; s < want.size(); ++s) EXPECT_NEAR(got[s], want[s], 0.03 * std::abs(want[s])) << "step " << s;
    for (const auto& w : m->parameters()) EXPECT_EQ(w.scalar_type(), torch::kFloat32);
    // fp16 starts at scale 65536: the loss gradients of this small model fit, so no step is skipped.
    EXPECT_EQ(skipped, 0);
  }
}
