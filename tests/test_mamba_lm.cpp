// MambaLM (nn/mamba_lm), its fused head and loss (train/linear_cross_entropy) and the fine-tuning measurement
// on it (experiments/lm_finetune_bench): the model is causal, the fused loss and its gradients equal the plain
// softmax cross-entropy in float64, the LM loss is next-token cross-entropy through a tied head, LoRA in mixed
// precision holds exactly the frozen matrices in the low dtype and keeps each layer's activations once, the measurement
// counts parameters and losses right, cuts a tokenized text into consecutive windows, and the CLI writes its report.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "binary_runner.h"
#include "ftmamba/core/error.h"
#include "ftmamba/experiments/lm_finetune_bench.h"
#include "ftmamba/lm/tokenizer.h"
#include "ftmamba/nn/lora.h"
#include "ftmamba/nn/mamba_lm.h"
#include "ftmamba/ops/precision.h"
#include "ftmamba/train/linear_cross_entropy.h"
#include "gpu_skip.h"
#include "heap_in_use.h"

namespace fs = std::filesystem;
namespace nn = ftmamba::nn;
namespace train = ftmamba::train;
namespace ops = ftmamba::ops;
namespace experiments = ftmamba::experiments;
namespace lm = ftmamba::lm;

namespace {
nn::MambaLMConfig tiny(int64_t vocab = 37) {
  nn::MambaLMConfig c;
  c.vocab_size = vocab;
  c.d_model = 16;
  c.n_layers = 2;
  return c;
}
}  // namespace

TEST(MambaLM, IsCausal) {
  torch::manual_seed(1);
  nn::MambaLM lm(tiny());
  lm->eval();
  auto tokens = torch::randint(37, {2, 11}, torch::kInt64);
  auto changed = tokens.clone();
  changed.index_put_({torch::indexing::Slice(), 6}, (tokens.select(1, 6) + 5) % 37);
  torch::NoGradGuard g;
  const auto a = lm(tokens), b = lm(changed);
  ASSERT_EQ(a.sizes(), (std::vector<int64_t>{2, 11, 37}));
  EXPECT_LT((a.narrow(1, 0, 6) - b.narrow(1, 0, 6)).abs().max().item<double>(), 1e-6);  // before 6: unseen
  EXPECT_GT((a.narrow(1, 6, 5) - b.narrow(1, 6, 5)).abs().max().item<double>(), 1e-4);
}

TEST(MambaLM, LossIsNextTokenCrossEntropyThroughATiedHead) {
  torch::manual_seed(2);
  nn::MambaLM lm(tiny());
  auto tokens = torch::randint(30, {3, 9}, torch::kInt64);  // ids 30..36 never occur in the input
  const auto logits = lm(tokens);
  // By hand: position t predicts token t+1, log-softmax over the vocabulary.
  const auto logp = torch::log_softmax(logits.narrow(1, 0, 8).to(torch::kFloat64), -1);
  const auto picked = logp.gather(-1, tokens.narrow(1, 1, 8).unsqueeze(-1));
  const double want = -picked.mean().item<double>();
  auto loss = train::causal_lm_loss(lm, tokens);
  EXPECT_NEAR(loss.item<double>(), want, 1e-5);
  // With embeddings of std 0.02 the first prediction is nearly uniform: the loss is about ln(vocab).
  EXPECT_NEAR(loss.item<double>(), std::log(37.0), 0.05);
  loss.backward();
  // Rows of tokens absent from the input get a gradient only through the head: the head is the embedding.
  const auto g = lm->embedding->weight.grad();
  EXPECT_GT(g.narrow(0, 30, 7).abs().sum().item<double>(), 0.0);
  EXPECT_THROW(train::causal_lm_loss(lm, tokens.narrow(1, 0, 1)), std::invalid_argument);
}

// The plain reference: logits in full, log-softmax, mean negative log-likelihood.
torch::Tensor reference_linear_cross_entropy(const torch::Tensor& h, const torch::Tensor& w, const torch::Tensor& t) {
  return torch::nn::functional::cross_entropy(torch::matmul(h, w.t()), t);
}

TEST(LinearCrossEntropy, MatchesThePlainLossAndGradientsInFloat64) {
  torch::manual_seed(5);
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  // Odd sizes; chunks of 5 rows do not divide 37; 0 picks the default (one chunk here).
  for (const int64_t chunk : {int64_t{5}, int64_t{1}, int64_t{0}, int64_t{64}}) {
    auto h = torch::randn({37, 7}, f64).requires_grad_(true);
    auto w = (torch::randn({53, 7}, f64) * 2).requires_grad_(true);
    auto t = torch::randint(53, {37}, torch::kInt64);
    t[0] = 0;
    t[36] = 52;
    const auto g = torch::rand({}, f64) + 0.5;  // a non-unit upstream gradient
    auto fused = ftmamba::train::linear_cross_entropy(h, w, t, chunk);
    (fused * g).backward();
    const auto gh = h.grad().clone(), gw = w.grad().clone();
    h.mutable_grad() = torch::Tensor();
    w.mutable_grad() = torch::Tensor();
    auto ref = reference_linear_cross_entropy(h, w, t);
    (ref * g).backward();
    EXPECT_EQ(fused.scalar_type(), torch::kFloat64);
    EXPECT_NEAR(fused.item<double>(), ref.item<double>(), 1e-12 * ref.item<double>()) << chunk;
    EXPECT_LT((gh - h.grad()).abs().max().item<double>(), 1e-12 * h.grad().abs().max().item<double>()) << chunk;
    EXPECT_LT((gw - w.grad()).abs().max().item<double>(), 1e-12 * w.grad().abs().max().item<double>()) << chunk;
    EXPECT_EQ(gh.scalar_type(), torch::kFloat64);
    // Without gradient mode (evaluation) the same loss, and nothing for autograd.
    torch::NoGradGuard no_grad;
    const auto eval_loss = ftmamba::train::linear_cross_entropy(h, w, t, chunk);
    EXPECT_FALSE(eval_loss.requires_grad());
    EXPECT_EQ(eval_loss.item<double>(), fused.item<double>()) << chunk;
  }
}

TEST(LinearCrossEntropy, FrozenWeightGetsNoGradientAndBf16StaysClose) {
  torch::manual_seed(6);
  auto h = torch::randn({29, 11}).requires_grad_(true);
  auto w = torch::randn({41, 11});  // frozen
  auto t = torch::randint(41, {29}, torch::kInt64);
  torch::Tensor loss;
  {
    ftmamba::ops::AutocastScope scope(ftmamba::ops::Precision::kBf16, torch::kCPU);
    loss = ftmamba::train::linear_cross_entropy(h, w, t, 4);
  }
  loss.backward();
  EXPECT_FALSE(w.grad().defined());
  const auto ref = reference_linear_cross_entropy(h.detach(), w, t);
  // bf16 matmuls: close to the float32 loss, not equal to it.
  EXPECT_NEAR(loss.item<double>(), ref.item<double>(), 0.05 * ref.item<double>());
  EXPECT_NE(loss.item<double>(), ref.item<double>());
  EXPECT_EQ(loss.scalar_type(), torch::kFloat32);
  EXPECT_EQ(h.grad().scalar_type(), torch::kFloat32);
  EXPECT_THROW(ftmamba::train::linear_cross_entropy(h, w.t(), t), std::invalid_argument);
}

TEST(MambaLM, NamedShapes) {
  EXPECT_EQ(nn::mamba_lm_shape("370m").n_layers, 48);
  EXPECT_EQ(nn::mamba_lm_shape("370m").d_model, 1024);
  EXPECT_EQ(nn::mamba_lm_shape("130m").d_model, 768);
  EXPECT_THROW(nn::mamba_lm_shape("7b"), std::invalid_argument);
}

TEST(LmFinetuneBench, LoraInMixedPrecisionHoldsOnlyTheFrozenMatricesLow) {
  torch::manual_seed(3);
  nn::MambaLM lm(tiny());
  nn::attach_lora(*lm, {4, 8.0, 0.0}, {"in_proj", "out_proj"});
  nn::freeze_all_but_adapters(*lm);
  const int64_t cast = nn::cast_frozen_weights(*lm, torch::kBFloat16);
  EXPECT_EQ(cast, 2 * 4 + 1);  // 4 projections a layer, 2 layers, and the embedding
  for (const auto& p : lm->named_parameters()) {
    const bool low = p.value().scalar_type() == torch::kBFloat16;
    const bool should = !p.value().requires_grad() &&
                        (p.key().find("_proj.weight") != std::string::npos || p.key() == "embedding.weight") &&
                        p.key().find("lora_") == std::string::npos;
    EXPECT_EQ(low, should) << p.key();
  }
  // Mixed precision around a bf16 base and float32 adapters: the loss and the adapters' gradients are float32.
  auto tokens = torch::randint(37, {2, 7}, torch::kInt64);
  torch::Tensor loss;
  {
    ops::AutocastScope scope(ops::Precision::kBf16, torch::kCPU);
    loss = train::causal_lm_loss(lm, tokens);
  }
  loss.backward();
  EXPECT_EQ(loss.scalar_type(), torch::kFloat32);
  for (const auto& p : lm->named_parameters())
    if (p.value().requires_grad()) {
      ASSERT_TRUE(p.value().grad().defined()) << p.key();
      EXPECT_EQ(p.value().grad().scalar_type(), torch::kFloat32) << p.key();
    }
}

// What a LoRA bf16 layer keeps for the backward, read off glibc's heap (bytes in use) after the forward of 3
// layers against 1 (the first layer's input needs no gradient). Per token, a layer needs its input x (float32,
// the residual stream: 4 d bytes), the norm's bf16 output that the in_proj adapter reads (2 d), in_proj's output
// xz (bf16, 2 d_inner x 2 = 8 d) and the mixer's bf16 output that the out_proj adapter reads (2 d_inner x 2 = 4 d):
// 18 d, besides small ones (x_proj's output, the adapters' rank-wide products, the CPU scan's checkpoints: 20.8 d
// in all here). A float32 copy of any of the four, or an unfused mixer's conv output and delta, would add 4 d or more.
TEST(LmFinetuneBench, ALoraBf16LayerKeepsItsActivationsOnce) {
  const int64_t d = 256, batch = 2, L = 128, tokens = batch * L;
  const auto kept = [&](int64_t layers) {
    torch::manual_seed(4);
    nn::MambaLMConfig c = tiny(64);
    c.d_model = d;
    c.n_layers = layers;
    nn::MambaLM lm(c);
    nn::attach_lora(*lm, {8, 16.0, 0.0}, {"in_proj", "x_proj", "dt_proj", "out_proj"});
    nn::freeze_all_but_adapters(*lm);
    nn::cast_frozen_weights(*lm, torch::kBFloat16);
    const auto ids = torch::randint(64, {batch, L}, torch::kInt64);
    ops::AutocastScope scope(ops::Precision::kBf16, torch::kCPU);
    lm->hidden_states(ids);  // the caches that a first forward fills (autocast's weight casts), outside
    const int64_t before = ftmamba::test::heap_bytes_in_use();
    const auto h = lm->hidden_states(ids);  // h and what its backward keeps stay alive until the return
    return ftmamba::test::heap_bytes_in_use() - before;
  };
  const double per_layer = static_cast<double>(kept(3) - kept(1)) / 2.0 / static_cast<double>(tokens);
  std::printf("a LoRA bf16 layer keeps %.0f bytes a token (18 d = %lld)\n", per_layer, static_cast<long long>(18 * d));
  EXPECT_GT(per_layer, 18.0 * d) << "less than the layer's input, xz and the two adapters' inputs";
  EXPECT_LT(per_layer, 22.0 * d) << "a copy kept besides them";
}

TEST(LmFinetuneBench, CountsAndLossesPerVariant) {
  experiments::LmFinetuneBenchOptions o;
  o.model = tiny();
  o.batch = 2;
  o.length = 9;
  o.warmup_steps = 1;
  o.steps = 2;
  o.lora = {4, 8.0, 0.0};
  const auto full = experiments::bench_lm_finetune(o, train::parse_finetune_variant("full-fp32"), torch::kCPU);
  const auto lora = experiments::bench_lm_finetune(o, train::parse_finetune_variant("lora-bf16"), torch::kCPU);
  EXPECT_EQ(full.trainable, full.total);
  // LoRA rank 4 on in/x/dt/out_proj of each layer: 4 * (in + out) per projection. d 16, d_inner 32, dt_rank 1,
  // x_proj out 1 + 2 * 16.
  const int64_t per_layer = 4 * ((16 + 64) + (32 + 33) + (1 + 32) + (32 + 16));
  EXPECT_EQ(lora.trainable, 2 * per_layer);
  EXPECT_EQ(lora.total, full.total + lora.trainable);
  for (const auto& r : {full, lora}) {
    EXPECT_GT(r.tokens_per_s, 0.0);
    EXPECT_NEAR(r.step_ms, 18.0 / r.tokens_per_s * 1000.0, 1e-6 * r.step_ms);
    EXPECT_NEAR(r.loss_first, std::log(37.0), 0.1);
    ASSERT_EQ(r.losses.size(), 3u);  // the warm-up step and the 2 timed ones
    EXPECT_EQ(r.losses.front(), r.loss_first);
    EXPECT_EQ(r.losses.back(), r.loss_last);
    EXPECT_NE(r.losses[1], r.losses[0]);  // fresh tokens every step
  }
  // The same seed gives the same tokens and base weights: LoRA starts from the base's outputs (B = 0), and bf16
  // moves the first loss only a little.
  EXPECT_NEAR(lora.loss_first, full.loss_first, 0.01);
  EXPECT_NE(lora.loss_first, full.loss_first);
  EXPECT_THROW(train::parse_finetune_variant("half-bf16"), ftmamba::Error);
  EXPECT_THROW(experiments::bench_lm_finetune(o, train::parse_finetune_variant("full-fp16"), torch::kCPU),
               ftmamba::Error);
}

// On a GPU the timed steps replay a captured step (ops::CudaGraphStep) that reads each step's tokens from a fixed
// buffer: the losses must be those of the same steps run eagerly, step by step, for full fine-tuning and for LoRA
// in bf16 (whose adapters reach the fused mixer as applied weights). Fresh tokens every step, so a replay that
// read stale tokens, or trained nothing, would show in the last loss.
TEST(LmFinetuneBench, CudaGraphReplayGivesTheEagerLosses) {
  SKIP_WITHOUT_GPU();
  experiments::LmFinetuneBenchOptions o;
  o.model = tiny(101);
  o.model.d_model = 64;
  o.batch = 2;
  o.length = 40;  // past one chunk of the CUDA scan, so that its chunk states are made again in the backward
  o.warmup_steps = 2;
  o.steps = 4;
  o.lr = 1e-2;  // large enough that six steps move the loss
  o.lora = {4, 8.0, 0.0};
  for (const char* variant : {"full-fp32", "lora-bf16"}) {
    SCOPED_TRACE(variant);
    const auto v = train::parse_finetune_variant(variant);
    o.cuda_graph = false;
    const auto eager = experiments::bench_lm_finetune(o, v, torch::kCUDA);
    o.cuda_graph = true;
    const auto graphed = experiments::bench_lm_finetune(o, v, torch::kCUDA);
    EXPECT_FALSE(eager.cuda_graph);
    EXPECT_TRUE(graphed.cuda_graph);
    EXPECT_NEAR(graphed.loss_first, eager.loss_first, 1e-4 * eager.loss_first);
    EXPECT_NEAR(graphed.loss_last, eager.loss_last, 2e-3 * eager.loss_last);
    EXPECT_GT(std::abs(eager.loss_last - eager.loss_first), 1e-3) << "the steps changed nothing";
  }
}

TEST(LmFinetuneBench, TextWindowsAreConsecutiveAndWrap) {
  const auto corpus = torch::arange(10, 20, torch::kInt64);  // 10 ids: windows of 4 start at 0, 4, then wrap
  const auto w = experiments::corpus_windows(corpus, /*steps=*/2, /*batch=*/2, /*length=*/4, /*vocab=*/20);
  ASSERT_EQ(w.sizes(), (std::vector<int64_t>{2, 2, 4}));
  // Starts (s * batch + b) * 4 mod 7: 0, 4, 1, 5.
  const std::vector<int64_t> want = {10, 11, 12, 13, 14, 15, 16, 17, 11, 12, 13, 14, 15, 16, 17, 18};
  EXPECT_TRUE(torch::equal(w.flatten(), torch::tensor(want, torch::kInt64))) << w;
  EXPECT_THROW(experiments::corpus_windows(corpus, 1, 1, 11, 20), ftmamba::Error);  // shorter than a sequence
  EXPECT_THROW(experiments::corpus_windows(corpus, 1, 1, 4, 19), ftmamba::Error);   // id 19 outside vocab 19
}

TEST(LmFinetuneBench, TrainsOnATokenizedText) {
  const fs::path out = fs::temp_directory_path() / ("ftmamba_test_bench_text_" + std::to_string(::getpid()));
  fs::remove_all(out);
  fs::create_directories(out);
  const fs::path tokenizer =
      fs::path(FTMAMBA_SOURCE_DIR) / "tests" / "fixtures" / "hf_tokenizer" / "neox" / "tokenizer.json";
  const std::string text = "The quick brown fox jumps over the lazy dog. 1234 + 5678 = 6912; 'quoted' text.\n";
  std::ofstream(out / "text.txt") << text << text;
  const auto ids = lm::Tokenizer::load(tokenizer).encode(text + text, /*add_special_tokens=*/false);
  const std::string common =
      "bench finetune --device cpu --shapes 1x16 --lengths 8 --batch 2 --steps 1 --warmup 0 "
      "--variants full-fp32 --text " +
      (out / "text.txt").string() + " --tokenizer " + tokenizer.string() + " --out " + (out / "report").string();
  auto r = ftmamba_test::run_binary(common + " --vocab 4096");
  ASSERT_EQ(r.code, 0) << r.out;
  std::ifstream in(out / "report" / "bench-finetune.json");
  const auto row = nlohmann::json::parse(in)["rows"][0];
  EXPECT_EQ(row["tokens"], fmt::format("{} ({} tokens)", (out / "text.txt").string(), ids.size())) << row.dump();
  // A tokenizer with more ids than the model's vocabulary is refused before any step.
  auto small = ftmamba_test::run_binary(common + " --vocab 64");
  EXPECT_NE(small.code, 0);
  EXPECT_NE(small.out.find("more than the model's --vocab 64"), std::string::npos) << small.out;
  fs::remove_all(out);
}

TEST(LmFinetuneBench, CommandWritesItsReport) {
  const fs::path out = fs::temp_directory_path() / ("ftmamba_test_bench_finetune_" + std::to_string(::getpid()));
  fs::remove_all(out);
  auto r = ftmamba_test::run_binary(
      "bench finetune --device cpu --shapes 1x16 --vocab 40 --lengths 8 --batch 2 "
      "--steps 1 --warmup 0 --variants full-fp32,lora-fp32 --out " +
      out.string());
  ASSERT_EQ(r.code, 0) << r.out;
  std::ifstream in(out / "bench-finetune.json");
  const auto j = nlohmann::json::parse(in);
  ASSERT_EQ(j["rows"].size(), 2u);
  EXPECT_EQ(j["rows"][0]["variant"], "full-fp32");
  EXPECT_EQ(j["rows"][1]["variant"], "lora-fp32");
  EXPECT_LT(j["rows"][1]["trainable"].get<int64_t>(), j["rows"][0]["trainable"].get<int64_t>());
  for (const auto& row : j["rows"]) EXPECT_GT(row["kib_per_token"].get<double>(), 0.0) << row.dump();
  std::ifstream md(out / "bench-finetune.md");
  const std::string text((std::istreambuf_iterator<char>(md)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("| lora-fp32 |"), std::string::npos) << text;
  EXPECT_NE(text.find("1.00x"), std::string::npos) << text;  // full-fp32 against itself
  auto bad = ftmamba_test::run_binary("bench finetune --device cpu --shapes 7b --out " + out.string());
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.out.find("unknown Mamba LM shape"), std::string::npos) << bad.out;
  fs::remove_all(out);
}
