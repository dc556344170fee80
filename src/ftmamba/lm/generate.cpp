// defines: generate, choose_next_tokens (see generate.h).
#include "ftmamba/lm/generate.h"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "ftmamba/core/error.h"
#include "ftmamba/ops/cuda_graph_step.h"

namespace ftmamba::lm {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void check_options(const SamplingOptions& o) {
  if (o.max_new_tokens < 0) throw Error("--max-new-tokens must be 0 or more");
  if (!(o.temperature >= 0.0) || !std::isfinite(o.temperature))
    throw Error("--temperature must be a finite number, 0 or more (0: greedy)");
  if (o.top_k < 0) throw Error("--top-k must be 0 (every token) or more");
  if (!(o.top_p > 0.0 && o.top_p <= 1.0)) throw Error("--top-p must lie in (0, 1]");
}

// One decode step, model.step on the batch's state (which it advances in place): eager, or on a CUDA device
// replayed from a captured graph that reads its tokens from a buffer of fixed address. The eager warm-up steps
// settle the state's layout (ops::conv_step makes it contiguous), so the captured step reads and writes the
// same tensors every replay.
class DecodeStep {
 public:
  DecodeStep(nn::MambaLMImpl& model, std::vector<nn::MambaState>& state, torch::Device device, bool use_graph)
      : model_(model), state_(state) {
    if (!use_graph || !device.is_cuda() || !ops::CudaGraphStep::supported()) return;
    tokens_ = torch::zeros({state.at(0).ssm.size(0)}, torch::TensorOptions(torch::kInt64).device(device));  // (batch)
    graph_ = std::make_unique<ops::CudaGraphStep>(
        device, /*warmup=*/2, [this] { return model_.step(tokens_, state_); }, [] {});
  }
  // (batch) next tokens -> (batch, vocab) logits, valid until the next call.
  torch::Tensor operator()(const torch::Tensor& next) {
    if (!graph_) return model_.step(next, state_);
    graph_->stage([&] { tokens_.copy_(next); });
    return graph_->step();
  }
  bool graphed() const { return graph_ != nullptr; }

 private:
  nn::MambaLMImpl& model_;
  std::vector<nn::MambaState>& state_;
  torch::Tensor tokens_;
  std::unique_ptr<ops::CudaGraphStep> graph_;
};

}  // namespace

void prepare_for_decoding(nn::MambaLMImpl& model, ops::Precision precision) {
  if (precision != ops::Precision::kFp32 && precision != ops::Precision::kBf16)
    throw Error("lm generate: --precision must be fp32 or bf16, got " + std::string(enum_name(precision)));
  ops::check_precision_supported(precision, model.embedding->weight.device());
  for (auto& p : model.parameters()) p.set_requires_grad(false);
  if (precision == ops::Precision::kBf16) nn::cast_frozen_weights(model, torch::kBFloat16);
}

torch::Tensor choose_next_tokens(const torch::Tensor& logits, const SamplingOptions& options,
                                 at::Generator& generator) {
  if (options.temperature == 0.0) return logits.argmax(-1);                     // (batch)
  auto scores = logits.to(torch::kCPU, torch::kFloat32) / options.temperature;  // (batch, vocab)
  const float minus_inf = -std::numeric_limits<float>::infinity();
  if (options.top_k > 0 && options.top_k < scores.size(-1)) {
    const auto kth = std::get<0>(scores.topk(options.top_k, -1)).narrow(-1, options.top_k - 1, 1);  // (batch, 1)
    scores = scores.masked_fill(scores < kth, minus_inf);
  }
  if (options.top_p < 1.0) {
    // Ascending, as Hugging Face's TopPLogitsWarper: the tokens whose cumulative probability stays within
    // 1 - top_p are dropped, the most likely token never.
    const auto [sorted, order] = scores.sort(-1, /*descending=*/false);
    auto drop = sorted.softmax(-1).cumsum(-1) <= (1.0 - options.top_p);
    drop.narrow(-1, drop.size(-1) - 1, 1).fill_(false);
    scores = scores.masked_fill(drop.scatter(-1, order, drop), minus_inf);
  }
  return torch::multinomial(scores.softmax(-1), 1, /*replacement=*/false, generator).squeeze(-1).to(logits.device());
}

std::vector<std::vector<int64_t>> generate(nn::MambaLMImpl& model, const std::vector<std::vector<int64_t>>& prompts,
                                           const SamplingOptions& options,
                                           const std::function<void(size_t, int64_t)>& on_token,
                                           GenerationTimes* times) {
  check_options(options);
  const int64_t vocab = model.cfg.vocab_size;
  for (size_t row = 0; row < prompts.size(); ++row) {
    if (prompts[row].empty()) throw Error("prompt " + std::to_string(row + 1) + " has no tokens");
    for (const int64_t id : prompts[row])
      if (id < 0 || id >= vocab)
        throw Error("prompt " + std::to_string(row + 1) + ": token id " + std::to_string(id) +
                    " is outside the model's vocabulary [0, " + std::to_string(vocab) + ")");
  }
  std::vector<std::vector<int64_t>> out(prompts.size());
  if (prompts.empty() || options.max_new_tokens == 0) return out;
  torch::NoGradGuard no_grad;
  model.eval();
  model.fused_decode = options.fused_decode;
  const auto device = model.embedding->weight.device();
  // No weight cast cache: the matrices are already bf16 for a bf16 decode, and a cache may not be filled while a
  // CUDA graph is captured.
  ops::AutocastScope autocast(options.precision, device, /*cache=*/false);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  GenerationTimes t;

  // Prefill: each prompt alone (their lengths differ), then the states side by side as one batch.
  auto start = std::chrono::steady_clock::now();
  std::vector<torch::Tensor> first_logits;
  std::vector<std::vector<nn::MambaState>> states(prompts.size());
  for (size_t row = 0; row < prompts.size(); ++row) {
    const auto ids = torch::tensor(prompts[row], torch::kInt64).to(device).unsqueeze(0);  // (1, L)
    first_logits.push_back(model.prefill(ids, states[row]));                              // (1, vocab)
    t.prompt_tokens += static_cast<int64_t>(prompts[row].size());
  }
  std::vector<nn::MambaState> state(states[0].size());
  for (size_t layer = 0; layer < state.size(); ++layer) {
    std::vector<torch::Tensor> conv, ssm;
    for (auto& s : states) {
      conv.push_back(s[layer].conv);
      ssm.push_back(s[layer].ssm);
    }
    state[layer] = {torch::cat(conv), torch::cat(ssm)};
  }
  states.clear();
  auto logits = torch::cat(first_logits);  // (batch, vocab)
  t.prefill_seconds = seconds_since(start);

  // Decode: a token per row per step; a row that has stopped is still computed with the batch, its tokens unused.
  start = std::chrono::steady_clock::now();
  DecodeStep decode_step(model, state, device, options.cuda_graph);
  t.cuda_graph = decode_step.graphed();
  std::vector<bool> done(prompts.size(), false);
  size_t running = prompts.size();
  for (int64_t k = 0; k < options.max_new_tokens && running > 0; ++k) {
    const auto next = choose_next_tokens(logits, options, generator);  // (batch)
    const auto chosen = next.to(torch::kCPU);
    const int64_t* ids = chosen.data_ptr<int64_t>();
    for (size_t row = 0; row < prompts.size(); ++row) {
      if (done[row]) continue;
      out[row].push_back(ids[row]);
      ++t.decoded_tokens;
      if (on_token) on_token(row, ids[row]);
      for (const int64_t stop : options.stop_ids)
        if (ids[row] == stop) done[row] = true;
      if (done[row]) --running;
    }
    if (running == 0 || k + 1 == options.max_new_tokens) break;
    logits = decode_step(next);
  }
  t.decode_seconds = seconds_since(start);
  if (times) *times = t;
  return out;
}

}  // namespace ftmamba::lm
