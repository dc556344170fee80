// ops::decode_layers, a decode step's Mamba layers in one kernel: its LibTorch reference (the per-layer references
// composed) against the model's own step in float64 on the CPU; and on a GPU the kernel against that reference on
// random layers (float32 and bfloat16, batch 1 to 4, conv widths 2 to 4, dt ranks that are no multiple of 16, many
// channels an SM and fewer channels than SMs), the states advanced alike, a non-number carried through x_proj, and a
// model's decode through the kernel against its per-layer kernels.
#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "ftmamba/lm/generate.h"
#include "ftmamba/nn/mamba_lm.h"
#include "ftmamba/ops/decode_layers.h"
#include "ftmamba/ops/decode_linear.h"
#include "ftmamba/ops/precision.h"
#include "gpu_skip.h"

namespace lm = ftmamba::lm;
namespace nn = ftmamba::nn;
namespace ops = ftmamba::ops;

namespace {

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

double max_abs(const torch::Tensor& a) { return a.to(torch::kFloat64).abs().max().item<double>(); }

std::vector<nn::MambaState> copy_of(const std::vector<nn::MambaState>& state) {
  std::vector<nn::MambaState> out;
  for (const auto& s : state) out.push_back({s.conv.clone(), s.ssm.clone()});
  return out;
}

nn::MambaLM small_lm(int64_t d_model, int64_t n_layers) {
  torch::manual_seed(11);
  nn::MambaLMConfig c;
  c.vocab_size = 300;
  c.d_model = d_model;
  c.n_layers = n_layers;
  nn::MambaLM model(c);
  model->eval();
  return model;
}

// n random layers with their states, the matrices in `matrix_dtype`, the rest float32, on `device`.
struct RandomLayers {
  std::vector<ops::DecodeLayer> layers;
  std::vector<torch::Tensor> conv, ssm;
};

RandomLayers random_layers(int64_t n, int64_t batch, int64_t d_model, int64_t d_inner, int64_t rank, int64_t width,
                           torch::ScalarType matrix_dtype, torch::Device device) {
  const int64_t d_state = 16;
  const auto f32 = torch::TensorOptions().device(device).dtype(torch::kFloat32);
  auto matrix = [&](int64_t rows, int64_t cols) {
    return (torch::randn({rows, cols}, f32) / std::sqrt(double(cols))).to(matrix_dtype);
  };
  RandomLayers r;
  r.conv.reserve(n);  // the layers point at these
  r.ssm.reserve(n);
  for (int64_t i = 0; i < n; ++i) {
    r.conv.push_back(torch::randn({batch, width - 1, d_inner}, f32).to(matrix_dtype));
    r.ssm.push_back(torch::randn({batch, d_inner, d_state}, f32));
  }
  for (int64_t i = 0; i < n; ++i) {
    ops::DecodeLayer l;
    l.norm_weight = torch::rand({d_model}, f32) + 0.5;
    l.eps = 1e-5;
    l.in_proj = matrix(2 * d_inner, d_model);
    l.conv_weight = torch::randn({d_inner, width}, f32) * 0.5;
    l.conv_bias = i % 2 ? torch::Tensor() : torch::randn({d_inner}, f32);
    l.x_proj = matrix(rank + 2 * d_state, d_inner);
    l.dt_proj = matrix(d_inner, rank);
    l.dt_bias = torch::randn({d_inner}, f32) * 0.5 - 1;
    l.A_log = torch::log(torch::rand({d_inner, d_state}, f32) * 4 + 0.5);
    l.D = torch::randn({d_inner}, f32);
    l.out_proj = matrix(d_model, d_inner);
    l.conv_state = &r.conv[i];
    l.ssm_state = &r.ssm[i];
    r.layers.push_back(std::move(l));
  }
  return r;
}

}  // namespace

// The reference, composed of the per-layer references, is the model's own decode step in float64: the same logits
// (through the final norm and the LM head; step returns them in float32) and the same advanced states.
TEST(DecodeLayersReference, EqualsTheModelsStepInFloat64) {
  auto model = small_lm(24, 3);
  model->to(torch::kFloat64);
  torch::NoGradGuard no_grad;
  std::vector<nn::MambaState> state;
  model->prefill(torch::tensor({{5, 9, 2, 7}, {1, 1, 8, 3}}, torch::kInt64), state);
  auto ref_state = copy_of(state);
  const auto tokens = torch::tensor({4, 6}, torch::kInt64);
  const auto want = model->step(tokens, state);
  const auto layers = model->decode_layers(ref_state);
  ASSERT_EQ(layers.size(), 3u);
  EXPECT_FALSE(ops::decode_layers_fused(model->embedding(tokens), layers));  // the CPU: no kernel
  const auto r = ops::decode_layers_reference(model->embedding(tokens), layers);
  const auto got = ops::add_rms_norm_linear_reference(r.residual, r.delta, model->norm_f->weight, model->norm_f->eps,
                                                      model->embedding->weight)
                       .out.to(torch::kFloat32);  // as step returns them
  EXPECT_LT(max_diff(got, want), 1e-12);
  EXPECT_GT(max_abs(want), 1e-3);
  for (size_t i = 0; i < state.size(); ++i) {
    EXPECT_LT(max_diff(ref_state[i].conv, state[i].conv), 1e-14) << i;
    EXPECT_LT(max_diff(ref_state[i].ssm, state[i].ssm), 1e-12) << i;
  }
  EXPECT_THROW(ops::decode_layers(model->embedding(tokens), layers), std::invalid_argument);
}

// A layer with an adapter is not the kernel's: the model's step keeps its per-layer path for it.
TEST(DecodeLayersReference, LayersWithAnAdapterAreLeftToThePerLayerStep) {
  auto model = small_lm(16, 2);
  std::vector<nn::MambaState> state;
  torch::NoGradGuard no_grad;
  model->prefill(torch::tensor({{5, 9}}, torch::kInt64), state);
  EXPECT_EQ(model->decode_layers(state).size(), 2u);
  auto* mixer = model->layers[1]->as<nn::MambaResidualLayer>()->mixer.get();
  nn::LoraOptions lora;
  lora.rank = 4;
  mixer->out_proj->attach_lora(lora);
  EXPECT_TRUE(model->decode_layers(state).empty());
}

namespace {

// The kernel against the reference on n random layers: the residual, the last layer's output and every state.
void expect_kernel_equals_reference(int64_t n, int64_t batch, int64_t d_model, int64_t d_inner, int64_t rank,
                                    int64_t width, torch::ScalarType dtype) {
  const torch::Device cuda(torch::kCUDA);
  torch::manual_seed(batch * 10 + width + d_inner);
  const std::string where = std::string(c10::toString(dtype)) + " batch " + std::to_string(batch) + " width " +
                            std::to_string(width) + " d_model " + std::to_string(d_model) + " d_inner " +
                            std::to_string(d_inner);
  auto got = random_layers(n, batch, d_model, d_inner, rank, width, dtype, cuda);
  RandomLayers want = got;  // the same parameters, states of their own
  for (size_t i = 0; i < want.conv.size(); ++i) {
    want.conv[i] = got.conv[i].clone();
    want.ssm[i] = got.ssm[i].clone();
    want.layers[i].conv_state = &want.conv[i];
    want.layers[i].ssm_state = &want.ssm[i];
  }
  const auto residual = torch::randn({batch, d_model}, torch::TensorOptions().device(cuda)) * 2;
  ASSERT_TRUE(ops::decode_layers_fused(residual, got.layers)) << where;
  const auto g = ops::decode_layers(residual, got.layers);
  const auto r = ops::decode_layers_reference(residual, want.layers);
  const double tol = dtype == torch::kFloat32 ? 1e-4 : 3e-2;
  EXPECT_LT(max_diff(g.residual, r.residual), tol * max_abs(r.residual)) << where;
  EXPECT_LT(max_diff(g.delta, r.delta), tol * max_abs(r.delta)) << where;
  ASSERT_EQ(g.delta.scalar_type(), dtype) << where;
  for (size_t i = 0; i < got.conv.size(); ++i) {
    EXPECT_LT(max_diff(got.conv[i], want.conv[i]), tol * max_abs(want.conv[i])) << where << " conv " << i;
    EXPECT_LT(max_diff(got.ssm[i], want.ssm[i]), tol * max_abs(want.ssm[i])) << where << " ssm " << i;
  }
}

}  // namespace

TEST(DecodeLayersKernel, CudaEqualsTheReferenceOnRandomLayers) {
  SKIP_WITHOUT_GPU();
  for (const auto dtype : {torch::kFloat32, torch::kBFloat16})
    for (const int64_t batch : {1, 3})
      for (const int64_t width : {2, 4}) expect_kernel_equals_reference(3, batch, 256, 512, 24, width, dtype);
}

// The 370M shape's widths at batch 4 (some 16 channels an SM, 64 (batch row, channel) items an SM, more than a
// block's half-warps take in one round); and fewer channels (128) than an H100 has SMs.
TEST(DecodeLayersKernel, CudaEqualsTheReferenceWithManyOrNoChannelsABlock) {
  SKIP_WITHOUT_GPU();
  for (const auto dtype : {torch::kFloat32, torch::kBFloat16})
    expect_kernel_equals_reference(2, 4, 1024, 2048, 64, 4, dtype);
  expect_kernel_equals_reference(2, 2, 128, 128, 8, 3, torch::kFloat32);
}

// A weight that is not a number gives one in the layer's output, as in the reference: no step of the kernel's
// arithmetic (x_proj's sum across the channels, the softplus, the state's update) may clamp or drop it.
TEST(DecodeLayersKernel, CudaCarriesANonNumberThroughXProj) {
  SKIP_WITHOUT_GPU();
  const torch::Device cuda(torch::kCUDA);
  torch::manual_seed(5);
  auto got = random_layers(1, 1, 256, 512, 24, 4, torch::kFloat32, cuda);
  got.layers[0].x_proj[30][7] = std::numeric_limits<float>::quiet_NaN();
  const auto residual = torch::randn({1, 256}, torch::TensorOptions().device(cuda));
  ASSERT_TRUE(ops::decode_layers_fused(residual, got.layers));
  const auto g = ops::decode_layers(residual, got.layers);
  EXPECT_TRUE(g.delta.isnan().any().item<bool>());
}

// The step's profile: every block marks its start, each barrier's arrival and exit, and its end, in order; and no
// block leaves a barrier before the last block has arrived at it (what the barrier is for).
TEST(DecodeLayersKernel, CudaProfileShowsEveryBarrierHolding) {
  SKIP_WITHOUT_GPU();
  torch::manual_seed(9);
  auto got = random_layers(3, 1, 256, 512, 24, 4, torch::kFloat32, torch::Device(torch::kCUDA));
  const auto residual = torch::randn({1, 256}, torch::TensorOptions().device(torch::kCUDA));
  torch::Tensor clock;
  ops::decode_layers(residual, got.layers, &clock);
  ASSERT_TRUE(clock.defined());
  const auto m = clock.cpu();
  const int64_t blocks = m.size(0), marks = m.size(1), barriers = (marks - 2) / 2;
  ASSERT_EQ(barriers, static_cast<int64_t>(ops::decode_layers_phases().size()) * 3 - 1);
  EXPECT_TRUE((m.select(1, 0) > 0).all().item<bool>());
  EXPECT_TRUE((m.narrow(1, 1, marks - 1) >= m.narrow(1, 0, marks - 1)).all().item<bool>())
      << "a block's marks in order";
  for (int64_t k = 1; k <= barriers; ++k) {
    const int64_t last_arrival = m.select(1, 2 * k - 1).max().item<int64_t>();
    const int64_t first_exit = m.select(1, 2 * k).min().item<int64_t>();
    EXPECT_GE(first_exit, last_arrival) << "barrier " << k << " of " << blocks << " blocks";
  }
}

// A model's decode through the kernel: each step's logits as the per-layer kernels give them, and in float32 the
// same greedy tokens, through the captured graph as well as eagerly.
TEST(DecodeLayersKernel, CudaModelStepEqualsThePerLayerKernels) {
  SKIP_WITHOUT_GPU();
  for (const auto precision : {ops::Precision::kFp32, ops::Precision::kBf16}) {
    auto model = small_lm(256, 3);
    model->to(torch::kCUDA);
    lm::prepare_for_decoding(*model, precision);
    torch::NoGradGuard no_grad;
    ops::AutocastScope autocast(precision, torch::kCUDA, /*cache=*/false);  // as lm::generate decodes
    std::vector<nn::MambaState> fused_state;
    model->prefill(torch::tensor({{5, 9, 2, 7, 11}}, torch::kInt64).to(torch::kCUDA), fused_state);
    auto per_layer_state = copy_of(fused_state);
    auto token = torch::tensor({4}, torch::kInt64).to(torch::kCUDA);
    const double tol = precision == ops::Precision::kFp32 ? 1e-4 : 3e-2;
    for (int k = 0; k < 6; ++k) {
      model->fused_decode = true;
      ASSERT_TRUE(ops::decode_layers_fused(model->embedding(token).to(torch::kFloat32).contiguous(),
                                           model->decode_layers(fused_state)));
      const auto fused = model->step(token, fused_state);
      model->fused_decode = false;
      const auto per_layer = model->step(token, per_layer_state);
      EXPECT_LT(max_diff(fused, per_layer), tol * max_abs(per_layer)) << "step " << k;
      token = per_layer.argmax(-1);
    }
    if (precision != ops::Precision::kFp32) continue;
    lm::SamplingOptions o;
    o.max_new_tokens = 24;
    const std::vector<std::vector<int64_t>> prompts{{4, 8, 15, 16, 23, 42}};
    model->fused_decode = false;
    const auto want = lm::generate(*model, prompts, o);
    model->fused_decode = true;
    EXPECT_EQ(lm::generate(*model, prompts, o), want);
    o.cuda_graph = false;
    EXPECT_EQ(lm::generate(*model, prompts, o), want);
  }
}
