#include "ftmamba/experiments/lm_finetune_bench.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <stdexcept>

#include "ftmamba/core/device.h"
#include "ftmamba/core/error.h"
#include "ftmamba/core/timer.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/lm/tokenizer.h"
#include "ftmamba/ops/cuda_graph_step.h"
#include "ftmamba/train/fixed_shape_step.h"
#include "ftmamba/train/linear_cross_entropy.h"
#include "ftmamba/train/multi_tensor_adamw.h"

namespace ftmamba::experiments {
nn::MambaLMConfig lm_bench_shape(const std::string& name, int64_t vocab) {
  nn::MambaLMConfig cfg;
  const auto x = name.find('x');
  if (x != std::string::npos && x > 0 && name.find_first_not_of("0123456789x") == std::string::npos) {
    cfg.n_layers = std::stoll(name.substr(0, x));
    cfg.d_model = std::stoll(name.substr(x + 1));
  } else {
    try {
      cfg = nn::mamba_lm_shape(name);
    } catch (const std::invalid_argument& e) {
      throw Error(std::string("--shapes: ") + e.what() + ", or LAYERSxD_MODEL such as 2x64");
    }
  }
  cfg.vocab_size = vocab;
  return cfg;
}

torch::Tensor tokenize_corpus(const std::string& text_file, const std::string& tokenizer_json) {
  const auto tokenizer = lm::Tokenizer::load(tokenizer_json);
  std::string text;
  try {
    text = io::read_file(text_file);
  } catch (const std::exception& e) {
    throw Error(fmt::format("--text {}: {}", text_file, e.what()));
  }
  const auto ids = tokenizer.encode(text, /*add_special_tokens=*/false);
  if (ids.empty()) throw Error(fmt::format("--text {}: the text has no tokens", text_file));
  return torch::tensor(ids, torch::kInt64);
}

torch::Tensor corpus_windows(const torch::Tensor& corpus, int64_t steps, int64_t batch, int64_t length, int64_t vocab) {
  const int64_t n = corpus.numel();
  if (n < length) throw Error(fmt::format("--text: {} tokens, fewer than one sequence of --lengths {}", n, length));
  const int64_t top = corpus.max().item<int64_t>();
  if (top >= vocab || corpus.min().item<int64_t>() < 0)
    throw Error(fmt::format("--text: the tokenizer gives id {}, outside --vocab {}", top, vocab));
  const auto starts = torch::arange(steps * batch, torch::kInt64).mul_(length).remainder_(n - length + 1);
  const auto offsets = starts.unsqueeze(1) + torch::arange(length, torch::kInt64).unsqueeze(0);  // (steps*batch, L)
  return corpus.index({offsets}).view({steps, batch, length});
}

nn::ParameterCount prepare_lm_finetune(nn::MambaLMImpl& model, bool lora, const nn::LoraOptions& options,
                                       const std::vector<std::string>& targets, ops::Precision precision) {
  if (lora) {
    nn::attach_lora(model, options, targets);
    nn::freeze_all_but_adapters(model);
    if (ops::is_mixed(precision)) nn::cast_frozen_weights(model, ops::low_precision_dtype(precision));
  }
  ops::cast_weights(model, precision);  // bf16-pure only
  return nn::count_parameters(model);
}

LmFinetuneBenchResult bench_lm_finetune(const LmFinetuneBenchOptions& o, const train::FinetuneVariant& variant,
                                        torch::Device device) {
  ops::check_precision_supported(variant.precision, device);
  if (o.batch < 1 || o.length < 2 || o.steps < 1 || o.warmup_steps < 0)
    throw Error("bench finetune: need batch >= 1, length >= 2, steps >= 1 and warmup >= 0");
  torch::manual_seed(o.seed);
  // Fresh tokens every step, drawn (or cut from the corpus) up front, so that drawing them is not timed, and
  // before the model, so that every variant sees the same tokens.
  const bool graph = o.cuda_graph && device.is_cuda() && train::FixedShapeStep::graphs_supported();
  // A captured step needs eager steps before it (see below).
  const int64_t warmup = graph ? std::max<int64_t>(o.warmup_steps, 2) : o.warmup_steps;
  const int64_t total_steps = warmup + o.steps;
  auto tokens =
      (o.corpus.defined() ? corpus_windows(o.corpus, total_steps, o.batch, o.length, o.model.vocab_size)
                          : torch::randint(o.model.vocab_size, {total_steps, o.batch, o.length}, torch::kInt64))
          .to(device);
  nn::MambaLM model(o.model);
  model->to(device);
  model->train();
  LmFinetuneBenchResult r;
  const auto count = prepare_lm_finetune(*model, variant.lora, o.lora, o.lora_targets, variant.precision);
  r.trainable = count.trainable;
  r.total = count.total;

  train::MultiTensorAdamW optimizer(*model, /*weight_decay=*/0.0);
  optimizer.set_lr(o.lr);
  std::optional<ops::DynamicLossScaler> scaler;
  if (variant.precision == ops::Precision::kFp16) scaler.emplace(device);

  r.cuda_graph = graph;
  // One step, queued on the current stream with no host synchronisation, so that it can be captured.
  // The autocast cache (each weight cast once per step) cannot be used while capturing.
  const auto forward_backward_update = [&](const torch::Tensor& batch_tokens) {
    torch::Tensor loss;
    {
      ops::AutocastScope autocast(variant.precision, device, /*cache=*/!graph);
      loss = train::causal_lm_loss(model, batch_tokens);
    }
    optimizer.zero_grad();  // captured: the backward then allocates the gradients from the graph's pool
    optimizer.backward_and_apply(loss, o.max_grad_norm, scaler ? &*scaler : nullptr);
    return loss.detach();
  };

  std::vector<torch::Tensor> losses;
  std::vector<double> step_ms;
  const auto timed = [&](int64_t step, const std::function<torch::Tensor()>& run) {
    const Stopwatch watch(device);
    losses.push_back(run().clone());
    const double ms = watch.wall_ms();
    if (step >= warmup) step_ms.push_back(ms);
  };
  if (!graph) {
    for (int64_t step = 0; step < total_steps; ++step)
      timed(step, [&] { return forward_backward_update(tokens[step]); });
  } else {
    // Warm-up steps run eagerly, then the step is captured once and replayed (ops/cuda_graph_step.h); a LoRA step
    // adds about fifteen small kernels per adapted projection, each with its autograd and dispatch cost on the
    // host, which the replay saves. The capture itself is left out of the timed steps.
    auto static_tokens = tokens[0].clone();  // what the captured step reads
    ops::CudaGraphStep graphed(
        device, static_cast<int>(warmup), [&] { return forward_backward_update(static_tokens); },
        [&] { optimizer.zero_grad(); });
    for (int64_t step = 0; step < total_steps; ++step) {
      graphed.stage([&] { static_tokens.copy_(tokens[step]); });
      graphed.capture_if_due();
      timed(step, [&] { return graphed.step(); });
    }
  }
  std::sort(step_ms.begin(), step_ms.end());
  r.step_ms = step_ms[step_ms.size() / 2];
  r.tokens_per_s = static_cast<double>(o.batch * o.length) / (r.step_ms / 1000.0);
  for (const auto& loss : losses) r.losses.push_back(loss.item<double>());
  r.loss_first = r.losses.front();
  r.loss_last = r.losses.back();
  r.skipped_steps = scaler ? scaler->skipped_steps() : 0;
  r.peak_gpu_mib = peak_gpu_allocated_mib(device);
  return r;
}

}  // namespace ftmamba::experiments
