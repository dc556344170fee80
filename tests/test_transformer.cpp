// Tests the FT-Transformer pieces against independent references in float64: our attention against
// torch::nn::MultiheadAttention (forward and every gradient), ReGLU against its formula and hand-derived
// gradients, the [CLS]-only last block against the full block, the stock layer against
// torch::nn::TransformerEncoderLayer, and the parameter counts of both variants.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ftmamba/nn/attention.h"
#include "ftmamba/nn/feed_forward.h"
#include "ftmamba/nn/ft_transformer.h"
#include "ftmamba/nn/transformer_block.h"

namespace nn = ftmamba::nn;

namespace {

int64_t count(torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

void expect_close(const torch::Tensor& a, const torch::Tensor& b, double tol, const std::string& what) {
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  const double err = (a - b).abs().max().item<double>();
  const double scale = std::max(1.0, b.abs().max().item<double>());
  EXPECT_LT(err / scale, tol) << what << ": max abs error " << err;
}

// Copies our four projections into torch's packed in_proj (q, k, v stacked) and out_proj.
void copy_attention_weights(nn::MultiHeadAttention& ours, torch::nn::MultiheadAttention& ref) {
  torch::NoGradGuard g;
  ref->in_proj_weight.copy_(torch::cat({ours->W_q->weight, ours->W_k->weight, ours->W_v->weight}, 0));
  ref->in_proj_bias.copy_(torch::cat({ours->W_q->bias, ours->W_k->bias, ours->W_v->bias}, 0));
  ref->out_proj->weight.copy_(ours->W_out->weight);
  ref->out_proj->bias.copy_(ours->W_out->bias);
}

}  // namespace

class AttentionShapes : public ::testing::TestWithParam<std::tuple<int64_t, int64_t, int64_t, int64_t>> {};

TEST_P(AttentionShapes, MatchesTorchMultiheadAttentionWithGradients) {
  const auto [batch, len, d, heads] = GetParam();
  torch::manual_seed(11);
  nn::MultiHeadAttention ours(d, heads, 0.0);
  ours->to(torch::kFloat64);
  {  // non-zero biases, so their gradients and effects are tested too
    torch::NoGradGuard g;
    for (auto* p : {&ours->W_q, &ours->W_k, &ours->W_v, &ours->W_out}) (*p)->bias.uniform_(-0.5, 0.5);
  }
  torch::nn::MultiheadAttention ref(torch::nn::MultiheadAttentionOptions(d, heads).dropout(0.0));
  ref->to(torch::kFloat64);
  copy_attention_weights(ours, ref);

  auto x = torch::randn({batch, len, d}, torch::kFloat64).requires_grad_(true);
  auto x_ref = x.detach().clone().requires_grad_(true);
  auto y = ours(x, x);              // (batch, L, d)
  auto xt = x_ref.transpose(0, 1);  // torch's layout is (L, batch, d)
  auto y_ref = std::get<0>(ref(xt, xt, xt)).transpose(0, 1);
  expect_close(y, y_ref, 1e-12, "forward");

  auto w = torch::randn_like(y);  // a random cotangent reaches every output element
  (y * w).sum().backward();
  (y_ref * w).sum().backward();
  expect_close(x.grad(), x_ref.grad(), 1e-12, "d input");
  auto packed = ref->in_proj_weight.grad().chunk(3, 0);
  auto packed_b = ref->in_proj_bias.grad().chunk(3, 0);
  expect_close(ours->W_q->weight.grad(), packed[0], 1e-12, "d W_q");
  expect_close(ours->W_k->weight.grad(), packed[1], 1e-12, "d W_k");
  expect_close(ours->W_v->weight.grad(), packed[2], 1e-12, "d W_v");
  expect_close(ours->W_q->bias.grad(), packed_b[0], 1e-12, "d b_q");
  expect_close(ours->W_k->bias.grad(), packed_b[1], 1e-12, "d b_k");
  expect_close(ours->W_v->bias.grad(), packed_b[2], 1e-12, "d b_v");
  expect_close(ours->W_out->weight.grad(), ref->out_proj->weight.grad(), 1e-12, "d W_out");
  expect_close(ours->W_out->bias.grad(), ref->out_proj->bias.grad(), 1e-12, "d b_out");
}

// Odd sizes: L = 1, L prime, one head, head width 1.
INSTANTIATE_TEST_SUITE_P(OddSizes, AttentionShapes,
                         ::testing::Values(std::make_tuple(3, 13, 16, 8), std::make_tuple(1, 1, 8, 8),
                                           std::make_tuple(5, 7, 12, 1), std::make_tuple(2, 31, 24, 3)));

TEST(Attention, ClsQueryEqualsLastRowOfFullAttention) {
  torch::manual_seed(3);
  nn::MultiHeadAttention att(16, 4, 0.0);
  att->to(torch::kFloat64);
  auto x = torch::randn({4, 9, 16}, torch::kFloat64);
  auto full = att(x, x);
  auto cls = att(x.narrow(1, 8, 1), x);
  expect_close(cls.squeeze(1), full.select(1, 8), 1e-13, "cls-only attention");
}

TEST(Attention, RejectsHeadsThatDoNotDivideWidth) { EXPECT_ANY_THROW(nn::MultiHeadAttention(10, 4, 0.0)); }

TEST(ReGLU, MatchesFormulaAndHandDerivedGradients) {
  torch::manual_seed(5);
  auto x = torch::randn({3, 5, 14}, torch::kFloat64).requires_grad_(true);
  auto y = nn::reglu(x);
  ASSERT_EQ(y.sizes().vec(), (std::vector<int64_t>{3, 5, 7}));
  auto a = x.detach().narrow(-1, 0, 7), b = x.detach().narrow(-1, 7, 7);
  expect_close(y.detach(), a * b.clamp_min(0), 1e-15, "forward");
  auto w = torch::randn_like(y);
  (y * w).sum().backward();
  // d/da = relu(b) * w, d/db = a * [b > 0] * w
  auto expected = torch::cat({b.clamp_min(0) * w, a * (b > 0).to(torch::kFloat64) * w}, -1);
  expect_close(x.grad(), expected, 1e-15, "gradient");
}

TEST(FeedForward, ReGLUWidthAndNames) {
  nn::FeedForward f(16, 21, nn::FeedForwardImpl::Activation::ReGLU, 0.0);
  EXPECT_EQ(f->first->weight.sizes().vec(), (std::vector<int64_t>{42, 16}));  // 2 * d_hidden
  EXPECT_EQ(f->second->weight.sizes().vec(), (std::vector<int64_t>{16, 21}));
  auto names = f->named_parameters().keys();
  EXPECT_NE(std::find(names.begin(), names.end(), "linear_first.weight"), names.end());
}

TEST(TransformerBlock, PreNormClsOnlyEqualsFullBlockOnLastToken) {
  torch::manual_seed(8);
  nn::TransformerBlockOptions o;
  o.d_model = 16;
  o.n_heads = 4;
  o.d_hidden = 21;
  o.attention_dropout = o.ffn_dropout = 0.0;
  nn::TransformerBlock block(o);
  block->to(torch::kFloat64);
  auto x = torch::randn({3, 11, 16}, torch::kFloat64);
  auto full = block->forward(x, false);
  auto cls = block->forward(x, true);
  ASSERT_EQ(cls.size(1), 1);
  expect_close(cls.squeeze(1), full.select(1, 10), 1e-13, "cls-only block");
  // and the pre-norm formula itself
  auto kv = block->attention_norm(x);
  auto h = x + block->attention(kv, kv);
  expect_close(full, h + block->ffn(block->ffn_norm(h)), 1e-13, "pre-norm formula");
}

TEST(TransformerBlock, StockLayerMatchesTorchTransformerEncoderLayer) {
  torch::manual_seed(9);
  const int64_t d = 16, heads = 4, ffn = 40;
  nn::TransformerBlockOptions o;
  o.d_model = d;
  o.n_heads = heads;
  o.d_hidden = ffn;
  o.prenorm = false;
  o.attention_dropout = o.ffn_dropout = 0.0;
  nn::TransformerBlock ours(o);
  ours->to(torch::kFloat64);
  torch::nn::TransformerEncoderLayer ref(
      torch::nn::TransformerEncoderLayerOptions(d, heads).dim_feedforward(ffn).dropout(0.0));
  ref->to(torch::kFloat64);
  {
    torch::NoGradGuard g;
    copy_attention_weights(ours->attention, ref->self_attn);
    ref->linear1->weight.copy_(ours->ffn->first->weight);
    ref->linear1->bias.copy_(ours->ffn->first->bias);
    ref->linear2->weight.copy_(ours->ffn->second->weight);
    ref->linear2->bias.copy_(ours->ffn->second->bias);
    ref->norm1->weight.uniform_(0.5, 1.5);
    ref->norm1->bias.uniform_(-0.5, 0.5);
    ref->norm2->weight.uniform_(0.5, 1.5);
    ref->norm2->bias.uniform_(-0.5, 0.5);
    ours->attention_norm->weight.copy_(ref->norm1->weight);
    ours->attention_norm->bias.copy_(ref->norm1->bias);
    ours->ffn_norm->weight.copy_(ref->norm2->weight);
    ours->ffn_norm->bias.copy_(ref->norm2->bias);
  }
  auto x = torch::randn({2, 7, d}, torch::kFloat64).requires_grad_(true);
  auto x_ref = x.detach().clone().requires_grad_(true);
  auto y = ours->forward(x);
  auto y_ref = ref(x_ref.transpose(0, 1)).transpose(0, 1);
  expect_close(y, y_ref, 1e-12, "forward");
  auto w = torch::randn_like(y);
  (y * w).sum().backward();
  (y_ref * w).sum().backward();
  expect_close(x.grad(), x_ref.grad(), 1e-11, "d input");
  expect_close(ours->ffn->first->weight.grad(), ref->linear1->weight.grad(), 1e-11, "d linear1");
  expect_close(ours->ffn_norm->weight.grad(), ref->norm2->weight.grad(), 1e-11, "d norm2");
}

TEST(FTTransformer, StockLayerAtD128HasThePaperSize) {
  // 2 x 593,024 = 1,186,048: the Transformer embedder size an unofficial summary of the paper gives.
  nn::TransformerBlockOptions o;
  o.d_model = 128;
  o.n_heads = 8;
  o.d_hidden = 2048;
  o.prenorm = false;
  nn::TransformerBlock layer(o);
  EXPECT_EQ(count(*layer), 593024);
  nn::EncoderConfig cfg;
  cfg.type = ftmamba::nn::EncoderType::kFtTransformerStock;
  cfg.d_token = 128;
  cfg.embed_dim = 0;
  nn::FTTransformerEncoder enc(cfg, {0, 0, 0, {}});
  EXPECT_EQ(count(enc) - count(*enc.tokenizer), 1186048);
  EXPECT_EQ(nn::transformer_ffn_width(cfg), 2048);
}

TEST(FTTransformer, RtdlParameterCountFollowsTheFormula) {
  nn::EncoderConfig cfg;
  cfg.type = ftmamba::nn::EncoderType::kFtTransformer;
  cfg.d_token = 64;
  cfg.n_layers = 2;
  cfg.embed_dim = 32;
  const nn::FeatureShape shape{3, 2, 10, {}};
  nn::FTTransformerEncoder enc(cfg, shape);
  const int64_t d = 64, h = 64 * 4 / 3;  // 85
  const int64_t attention = 4 * (d * d + d);
  const int64_t ffn = (d * 2 * h + 2 * h) + (h * d + d);
  const int64_t ln = 2 * d;
  const int64_t tokenizer = 3 * 3 * d + 10 * d + 2 * d + d;
  const int64_t expected = tokenizer + (attention + ffn + ln) + (attention + ffn + 2 * ln) + ln + (d * 32 + 32);
  EXPECT_EQ(count(enc), expected);
}

TEST(FTTransformer, EncoderOutputsUnitEmbeddingsAndDependsOnEveryFeature) {
  torch::manual_seed(2);
  for (const char* type : {"ft-transformer", "ft-transformer-stock"}) {
    nn::EncoderConfig cfg;
    cfg.type = ftmamba::parse_enum<ftmamba::nn::EncoderType>(type);
    cfg.d_token = 16;
    cfg.n_heads = 4;
    cfg.d_ffn = 24;
    cfg.embed_dim = 8;
    cfg.attention_dropout = cfg.ffn_dropout = 0.0;
    auto enc = nn::make_encoder(cfg, {2, 2, 7, {}});
    enc->eval();
    auto num = torch::randn({4, 2});
    auto miss = torch::zeros({4, 2});
    auto cat = torch::randint(0, 7, {4, 2});
    auto e = enc->forward(num, miss, cat);
    ASSERT_EQ(e.sizes().vec(), (std::vector<int64_t>{4, 8})) << type;
    expect_close(e.norm(2, -1), torch::ones({4}), 1e-5, type);
    // Changing the first feature (a token far from [CLS]) changes the embedding: attention sees it.
    auto num2 = num.clone();
    num2.select(1, 0).add_(1.0);
    EXPECT_GT((enc->forward(num2, miss, cat) - e).abs().max().item<double>(), 1e-4) << type;
  }
}
