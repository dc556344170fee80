// defines: tests of recompute_in_backward (gradient checkpointing) through MambaLM's gradient_checkpointing: the
// gradients of every trained parameter equal those of the plain backward, in float64 with LoRA dropout drawing
// the same numbers in the recompute, with a frozen embedding in front (LoRA: the first layer's adapters still get
// theirs), and under bf16 autocast, whose setting the recompute puts back although the backward runs outside it.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <string>

#include "ftmamba/nn/lora.h"
#include "ftmamba/nn/mamba_lm.h"
#include "ftmamba/nn/recompute_in_backward.h"
#include "ftmamba/ops/precision.h"
#include "ftmamba/train/linear_cross_entropy.h"

namespace nn = ftmamba::nn;
namespace ops = ftmamba::ops;

namespace {

nn::MambaLM tiny_lm(bool lora, torch::Dtype dtype) {
  torch::manual_seed(4);
  nn::MambaLMConfig c;
  c.vocab_size = 41;
  c.d_model = 16;
  c.n_layers = 3;
  nn::MambaLM lm(c);
  if (lora) {
    nn::attach_lora(*lm, {4, 8.0, 0.3}, {"in_proj", "x_proj", "dt_proj", "out_proj"});
    nn::freeze_all_but_adapters(*lm);
    torch::NoGradGuard no_grad;
    for (auto& p : lm->named_parameters())  // LoRA's B starts at zero: give every adapter a gradient path
      if (p.key().find("lora_B") != std::string::npos) p.value().normal_(0, 0.1);
  }
  lm->to(dtype);
  lm->train();
  return lm;
}

// The gradients of the trained parameters after one backward of the LM loss, with the generator at `seed`.
std::map<std::string, torch::Tensor> gradients(nn::MambaLM& lm, const torch::Tensor& tokens, bool checkpoint,
                                               ops::Precision precision) {
  lm->gradient_checkpointing = checkpoint;
  for (auto& p : lm->parameters()) p.mutable_grad() = torch::Tensor();
  torch::manual_seed(99);
  torch::Tensor loss;
  {
    ops::AutocastScope autocast(precision, torch::kCPU);
    loss = ftmamba::train::causal_lm_loss(lm, tokens);
  }
  loss.backward();  // outside the autocast scope, as the trainers run it
  std::map<std::string, torch::Tensor> g;
  for (const auto& p : lm->named_parameters())
    if (p.value().requires_grad()) g[p.key()] = p.value().grad().defined() ? p.value().grad().clone() : torch::Tensor();
  return g;
}

void expect_same(const std::map<std::string, torch::Tensor>& got, const std::map<std::string, torch::Tensor>& want,
                 double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [name, w] : want) {
    const auto& g = got.at(name);
    ASSERT_TRUE(g.defined()) << name << " got no gradient with checkpointing";
    ASSERT_TRUE(w.defined()) << name;
    EXPECT_GT(w.abs().max().item<double>(), 0.0) << name;
    EXPECT_LE((g.to(torch::kFloat64) - w.to(torch::kFloat64)).abs().max().item<double>(),
              tol * std::max(1.0, w.abs().max().item<double>()))
        << name;
  }
}

}  // namespace

TEST(RecomputeInBackward, FullTrainingGradientsEqualThePlainBackwardInFloat64) {
  auto lm = tiny_lm(false, torch::kFloat64);
  const auto tokens = torch::randint(41, {2, 9}, torch::kInt64);
  const auto want = gradients(lm, tokens, false, ops::Precision::kFp32);
  expect_same(gradients(lm, tokens, true, ops::Precision::kFp32), want, 1e-12);
}

TEST(RecomputeInBackward, LoraWithDropoutBehindAFrozenEmbedding) {
  auto lm = tiny_lm(true, torch::kFloat64);
  const auto tokens = torch::randint(41, {2, 9}, torch::kInt64);
  const auto want = gradients(lm, tokens, false, ops::Precision::kFp32);
  // Every layer's adapters, the first's included, and the same dropout masks in the recompute.
  EXPECT_TRUE(want.count("layers.0.mixer.in_proj.lora_A.weight"));
  expect_same(gradients(lm, tokens, true, ops::Precision::kFp32), want, 1e-12);
}

TEST(RecomputeInBackward, Bf16AutocastIsPutBackForTheRecompute) {
  auto lm = tiny_lm(true, torch::kFloat32);
  const auto tokens = torch::randint(41, {2, 9}, torch::kInt64);
  const auto want = gradients(lm, tokens, false, ops::Precision::kBf16);
  expect_same(gradients(lm, tokens, true, ops::Precision::kBf16), want, 1e-6);
  // A recompute in float32 would differ from the bf16 forward by bf16's rounding: the comparison can tell.
  const auto f32 = gradients(lm, tokens, false, ops::Precision::kFp32);
  double most = 0;
  for (const auto& [name, w] : want) most = std::max(most, (f32.at(name) - w).abs().max().item<double>());
  EXPECT_GT(most, 1e-4);
}

TEST(RecomputeInBackward, WithoutGradModeItIsJustTheBlock) {
  const auto x = torch::randn({3, 4}, torch::kFloat64);
  torch::NoGradGuard no_grad;
  const auto y = nn::recompute_in_backward([](const torch::Tensor& t) { return t * 2; }, x);
  EXPECT_TRUE(torch::equal(y, x * 2));
  EXPECT_FALSE(y.requires_grad());
}
