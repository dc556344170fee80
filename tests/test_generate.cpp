// Generation (nn::Mamba's prefill state and recurrent step, nn::MambaLM's prefill / step, lm::generate) in float64
// against the parallel forward: the closed-form last state against the recurrence, prefill + steps against
// forward's outputs at every position (prompts shorter than the conv window included), greedy generation against
// re-running the whole sequence, and sampling's seeds, top-k, top-p and stop tokens.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "error_message.h"
#include "ftmamba/lm/generate.h"
#include "ftmamba/nn/ft_mamba.h"
#include "ftmamba/nn/mamba.h"
#include "ftmamba/nn/mamba_lm.h"
#include "ftmamba/ops/selective_scan_state.h"
#include "gpu_skip.h"

namespace lm = ftmamba::lm;
namespace nn = ftmamba::nn;
using ftmamba_test::error_message;

namespace {

const auto kF64 = torch::TensorOptions().dtype(torch::kFloat64);

nn::MambaLM tiny_lm(int64_t vocab = 50) {
  torch::manual_seed(3);
  nn::MambaLMConfig c;
  c.vocab_size = vocab;
  c.d_model = 12;
  c.n_layers = 2;
  c.mixer.d_state = 5;
  nn::MambaLM model(c);
  model->to(torch::kFloat64);
  model->eval();
  return model;
}

// Greedy decoding by running the whole sequence through forward() for every new token.
std::vector<int64_t> greedy_by_forward(nn::MambaLMImpl& model, std::vector<int64_t> ids, int64_t n) {
  torch::NoGradGuard no_grad;
  std::vector<int64_t> out;
  for (int64_t k = 0; k < n; ++k) {
    const auto logits = model.forward(torch::tensor(ids, torch::kInt64).unsqueeze(0));  // (1, L, vocab)
    const int64_t next = logits[0][-1].argmax().item<int64_t>();
    out.push_back(next);
    ids.push_back(next);
  }
  return out;
}

}  // namespace

TEST(SelectiveScanLastState, MatchesTheRecurrenceOnOddSizes) {
  torch::manual_seed(0);
  for (const auto& [batch, L, d, n] : std::vector<std::array<int64_t, 4>>{{1, 1, 3, 1}, {2, 7, 5, 3}, {3, 33, 9, 16}}) {
    const auto u = torch::randn({batch, L, d}, kF64), delta = torch::randn({batch, L, d}, kF64);
    const auto A = -torch::rand({d, n}, kF64) * 4, B = torch::randn({batch, L, n}, kF64);
    const auto bias = torch::randn({d}, kF64);
    auto h = torch::zeros({batch, d, n}, kF64);
    for (int64_t t = 0; t < L; ++t) {
      const auto dt = torch::softplus(delta.select(1, t) + bias);  // (batch, d)
      h = torch::exp(dt.unsqueeze(-1) * A) * h + (dt * u.select(1, t)).unsqueeze(-1) * B.select(1, t).unsqueeze(1);
    }
    const auto got = ftmamba::ops::selective_scan_last_state(u, delta, A, B, bias);
    EXPECT_EQ(got.scalar_type(), torch::kFloat64);
    EXPECT_LT((got - h).abs().max().item<double>(), 1e-12) << batch << "x" << L << "x" << d << "x" << n;
  }
}

TEST(MambaStep, PrefillThenStepsEqualTheParallelForward) {
  torch::manual_seed(1);
  nn::MambaConfig c;
  c.d_model = 6;
  c.d_state = 3;
  nn::Mamba mixer(c);
  mixer->to(torch::kFloat64);
  torch::NoGradGuard no_grad;
  const int64_t L = 9;
  const auto u = torch::randn({2, L, 6}, kF64);
  const auto want = mixer->forward(u);         // (2, L, 6)
  for (const int64_t prompt : {1, 2, 3, 5}) {  // shorter and longer than the conv window (3)
    nn::MambaState state;
    const auto head = mixer->forward_with_state(u.narrow(1, 0, prompt), state);
    EXPECT_LT((head - want.narrow(1, 0, prompt)).abs().max().item<double>(), 1e-12);
    for (int64_t t = prompt; t < L; ++t) {
      const auto y = mixer->step(u.select(1, t), state);
      EXPECT_LT((y - want.select(1, t)).abs().max().item<double>(), 1e-12) << "prompt " << prompt << ", token " << t;
    }
  }
}

TEST(MambaLMGenerate, GreedyEqualsRerunningTheWholeSequence) {
  auto model = tiny_lm();
  const std::vector<std::vector<int64_t>> prompts{{4, 8, 15, 16, 23, 42}, {7}};
  std::vector<std::pair<size_t, int64_t>> streamed;
  lm::SamplingOptions o;
  o.max_new_tokens = 12;
  lm::GenerationTimes times;
  const auto got = lm::generate(
      *model, prompts, o, [&](size_t row, int64_t id) { streamed.emplace_back(row, id); }, &times);
  ASSERT_EQ(got.size(), 2u);
  for (size_t row = 0; row < prompts.size(); ++row)
    EXPECT_EQ(got[row], greedy_by_forward(*model, prompts[row], 12)) << "row " << row;
  EXPECT_EQ(streamed.size(), 24u);
  EXPECT_EQ(streamed[1], (std::pair<size_t, int64_t>{1, got[1][0]}));
  EXPECT_EQ(times.prompt_tokens, 7);
  EXPECT_EQ(times.decoded_tokens, 24);
  EXPECT_FALSE(times.cuda_graph);  // the CPU decodes eagerly
}

// A bf16 decode holds the projections and the embedding in bfloat16 and keeps the rest float32; its logits stay
// within bf16's rounding of the fp32 model's, and its tokens follow them.
TEST(MambaLMGenerate, Bf16DecodeCastsTheMatricesOnly) {
  auto model = tiny_lm(300);
  model->to(torch::kFloat32);
  const std::vector<int64_t> prompt{4, 8, 15, 16, 23, 42};
  torch::NoGradGuard no_grad;
  std::vector<nn::MambaState> state;
  const auto fp32 = model->prefill(torch::tensor(prompt, torch::kInt64).unsqueeze(0), state);  // (1, vocab)
  lm::prepare_for_decoding(*model, ftmamba::ops::Precision::kBf16);
  auto* first = model->layers[0]->as<nn::MambaResidualLayer>();
  EXPECT_EQ(first->mixer->in_proj->weight.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(model->embedding->weight.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(first->mixer->A_log.scalar_type(), torch::kFloat32);
  EXPECT_EQ(model->norm_f->weight.scalar_type(), torch::kFloat32);
  for (const auto& p : model->parameters()) EXPECT_FALSE(p.requires_grad());
  torch::Tensor bf16;
  {
    ftmamba::ops::AutocastScope autocast(ftmamba::ops::Precision::kBf16, torch::kCPU, false);
    bf16 = model->prefill(torch::tensor(prompt, torch::kInt64).unsqueeze(0), state);
  }
  const double rel = ((bf16 - fp32).abs().max() / fp32.abs().max()).item<double>();
  EXPECT_GT(rel, 0.0);  // the matmuls did run in bf16
  EXPECT_LT(rel, 0.05);
  lm::SamplingOptions o;
  o.max_new_tokens = 1;
  o.precision = ftmamba::ops::Precision::kBf16;
  EXPECT_EQ(lm::generate(*model, {prompt}, o)[0][0], bf16.argmax(-1).item<int64_t>());
  EXPECT_EQ(error_message([&] { lm::prepare_for_decoding(*model, ftmamba::ops::Precision::kBf16Pure); }),
            "lm generate: --precision must be fp32 or bf16, got bf16-pure");
}

// On a CUDA device the decode steps replay a captured graph: the same tokens as the eager steps, greedy and
// sampled, for a batch of prompts of different lengths, long enough to pass the eager warm-up steps.
TEST(MambaLMGenerate, CudaGraphDecodeEqualsEagerDecode) {
  SKIP_WITHOUT_GPU();
  auto model = tiny_lm(300);
  model->to(torch::kCUDA, torch::kFloat32);
  const std::vector<std::vector<int64_t>> prompts{{4, 8, 15, 16, 23, 42}, {7}, {1, 2}};
  for (const double temperature : {0.0, 1.0, -1.0}) {  // -1: greedy in bf16
    lm::SamplingOptions o;
    o.max_new_tokens = 40;
    o.temperature = std::max(temperature, 0.0);
    if (temperature < 0) {
      lm::prepare_for_decoding(*model, ftmamba::ops::Precision::kBf16);
      o.precision = ftmamba::ops::Precision::kBf16;
    }
    o.seed = 5;
    lm::GenerationTimes graphed, eager;
    const auto with_graph = lm::generate(*model, prompts, o, {}, &graphed);
    o.cuda_graph = false;
    const auto without = lm::generate(*model, prompts, o, {}, &eager);
    EXPECT_TRUE(graphed.cuda_graph);
    EXPECT_FALSE(eager.cuda_graph);
    EXPECT_EQ(with_graph, without) << "temperature " << temperature;
    EXPECT_EQ(with_graph[1].size(), 40u);
  }
}

TEST(MambaLMGenerate, SamplingFollowsItsSeedAndLimits) {
  auto model = tiny_lm();
  const std::vector<std::vector<int64_t>> prompt{{1, 2, 3}};
  lm::SamplingOptions o;
  o.max_new_tokens = 20;
  const auto greedy = lm::generate(*model, prompt, o)[0];
  o.temperature = 5.0;  // nearly uniform over 50 tokens
  o.seed = 11;
  const auto a = lm::generate(*model, prompt, o)[0], b = lm::generate(*model, prompt, o)[0];
  EXPECT_EQ(a, b);
  o.seed = 12;
  EXPECT_NE(lm::generate(*model, prompt, o)[0], a);
  o.top_k = 1;  // only the most likely token is left
  EXPECT_EQ(lm::generate(*model, prompt, o)[0], greedy);
  o.top_k = 0;
  o.top_p = 1e-6;  // the smallest set reaching the mass: the most likely token
  EXPECT_EQ(lm::generate(*model, prompt, o)[0], greedy);
  // top_k = 3: every sampled token is among the 3 most likely at its step.
  o.top_p = 1.0;
  o.top_k = 3;
  const auto sampled = lm::generate(*model, prompt, o)[0];
  std::vector<int64_t> ids = prompt[0];
  torch::NoGradGuard no_grad;
  for (const int64_t id : sampled) {
    const auto logits = model->forward(torch::tensor(ids, torch::kInt64).unsqueeze(0))[0][-1];
    const auto top = std::get<1>(logits.topk(3));
    EXPECT_TRUE((top == id).any().item<bool>()) << id;
    ids.push_back(id);
  }
}

TEST(MambaLMGenerate, AStopTokenEndsItsRowOnly) {
  auto model = tiny_lm();
  const std::vector<std::vector<int64_t>> prompts{{4, 8, 15}, {9, 9}};
  lm::SamplingOptions o;
  o.max_new_tokens = 10;
  const auto free = lm::generate(*model, prompts, o);
  const int64_t stop = free[0][2];
  o.stop_ids = {stop};
  const auto stopped = lm::generate(*model, prompts, o);
  // Each row ends at its first stop token, kept; a row that never meets it runs to max_new_tokens.
  for (size_t row = 0; row < 2; ++row) {
    const auto at = std::find(free[row].begin(), free[row].end(), stop);
    EXPECT_EQ(stopped[row], std::vector<int64_t>(free[row].begin(), at == free[row].end() ? at : at + 1)) << row;
  }
  EXPECT_LE(stopped[0].size(), 3u);
}

TEST(MambaLMGenerate, BadPromptsAndOptionsAreErrors) {
  auto model = tiny_lm();
  lm::SamplingOptions o;
  EXPECT_EQ(error_message([&] {
              lm::generate(*model, {{1, 50}}, o);
            }),
            "prompt 1: token id 50 is outside the model's vocabulary [0, 50)");
  EXPECT_EQ(error_message([&] { lm::generate(*model, {{1}, {}}, o); }), "prompt 2 has no tokens");
  o.temperature = -1;
  EXPECT_EQ(error_message([&] { lm::generate(*model, {{1}}, o); }),
            "--temperature must be a finite number, 0 or more (0: greedy)");
  o.temperature = 1;
  o.top_p = 0;
  EXPECT_EQ(error_message([&] { lm::generate(*model, {{1}}, o); }), "--top-p must lie in (0, 1]");
}
