// defines: run_lm_finetune (see lm_finetune_run.h).
#include "ftmamba/experiments/lm_finetune_run.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>

#include "ftmamba/core/enum_text.h"
#include "ftmamba/core/error.h"
#include "ftmamba/experiments/lm_finetune_bench.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/io/staged_dir.h"
#include "ftmamba/lm/instruction_data.h"
#include "ftmamba/lm/peft_adapters.h"
#include "ftmamba/lm/pretrained.h"
#include "ftmamba/train/linear_cross_entropy.h"
#include "ftmamba/train/multi_tensor_adamw.h"

namespace ftmamba::experiments {
namespace {

// A batch: the examples right-padded to the longest, padding a non-target.
struct LmBatch {
  torch::Tensor tokens, targets;  // (batch, L) int64, (batch, L) uint8
  int64_t real_tokens = 0;
};

LmBatch make_batch(const std::vector<lm::InstructionExample>& examples, const std::vector<int64_t>& rows,
                   torch::Device device) {
  size_t longest = 2;
  for (const int64_t r : rows) longest = std::max(longest, examples[static_cast<size_t>(r)].ids.size());
  const auto n = static_cast<int64_t>(rows.size()), L = static_cast<int64_t>(longest);
  auto tokens = torch::zeros({n, L}, torch::kInt64);
  auto targets = torch::zeros({n, L}, torch::kUInt8);
  LmBatch b;
  for (int64_t i = 0; i < n; ++i) {
    const auto& ex = examples[static_cast<size_t>(rows[static_cast<size_t>(i)])];
    std::copy(ex.ids.begin(), ex.ids.end(), tokens[i].data_ptr<int64_t>());
    std::copy(ex.targets.begin(), ex.targets.end(), targets[i].data_ptr<uint8_t>());
    b.real_tokens += static_cast<int64_t>(ex.ids.size());
  }
  b.tokens = tokens.to(device);
  b.targets = targets.to(device);
  return b;
}

}  // namespace

LmFinetuneResult run_lm_finetune(const LmFinetuneRequest& q, const std::function<void(const std::string&)>& progress) {
  if (q.epochs < 1 || q.batch < 1) throw Error("lm finetune: --epochs and --batch must be at least 1");
  if (!(q.lr > 0) || !std::isfinite(q.lr)) throw Error("lm finetune: --lr must be a positive number");
  ops::check_precision_supported(q.precision, q.device);
  io::OutputPolicy policy;
  policy.kind = io::OutputKind::kRun;
  policy.force = q.force;
  policy.inputs = {q.model_dir};
  io::StagedDir::check(q.out, policy);  // before the model loads: a refused --out costs nothing

  auto pretrained = lm::PretrainedLM::load(q.model_dir, q.device);
  const auto& tokenizer = pretrained.require_tokenizer();
  const auto examples = lm::read_instruction_data(q.data, tokenizer, q.max_length, pretrained.config.eos_token_id);
  for (const auto& ex : examples)
    for (const int64_t id : ex.ids)
      if (id >= pretrained.config.model.vocab_size)
        throw Error(q.data.string() + ":" + std::to_string(ex.line) + ": token id " + std::to_string(id) +
                    " is outside the model's vocabulary");

  auto& model = pretrained.model;
  torch::manual_seed(q.seed);
  model->train();
  LmFinetuneResult r;
  nn::ParameterCount count;
  try {
    count = prepare_lm_finetune(*model, !q.full, q.lora, q.targets, q.precision);
  } catch (const std::invalid_argument& e) {
    throw Error(std::string("--lora.targets: ") + e.what());
  }
  r.trainable = count.trainable;
  r.total = count.total;
  r.examples = static_cast<int64_t>(examples.size());
  r.peft_loadable = q.full || std::find(q.targets.begin(), q.targets.end(), "out_proj") == q.targets.end();
  for (const auto& ex : examples)
    for (size_t t = 1; t < ex.targets.size(); ++t) r.target_tokens += ex.targets[t];

  io::StagedDir out(q.out, policy);
  train::MultiTensorAdamW optimizer(*model, q.weight_decay);
  optimizer.set_lr(q.lr);
  std::optional<ops::DynamicLossScaler> scaler;
  if (q.precision == ops::Precision::kFp16) scaler.emplace(q.device);

  std::string log;
  const int64_t per_epoch = (r.examples + q.batch - 1) / q.batch;
  const int64_t total_steps = per_epoch * q.epochs;
  auto generator = at::make_generator<at::CPUGeneratorImpl>(q.seed);
  int64_t tokens_seen = 0;
  double seconds = 0, epoch_loss = 0;
  for (int64_t epoch = 0; epoch < q.epochs; ++epoch) {
    const auto order = torch::randperm(r.examples, generator, torch::kInt64);
    epoch_loss = 0;
    for (int64_t s = 0; s < per_epoch; ++s) {
      const int64_t begin = s * q.batch, end = std::min(r.examples, begin + q.batch);
      std::vector<int64_t> rows(order.data_ptr<int64_t>() + begin, order.data_ptr<int64_t>() + end);
      const auto batch = make_batch(examples, rows, q.device);
      const auto start = std::chrono::steady_clock::now();
      torch::Tensor loss;
      {
        ops::AutocastScope autocast(q.precision, q.device);
        loss = train::masked_causal_lm_loss(model, batch.tokens, batch.targets);
      }
      optimizer.zero_grad();
      optimizer.backward_and_apply(loss, q.max_grad_norm, scaler ? &*scaler : nullptr);
      const double value = loss.item<double>();
      seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (!std::isfinite(value))
        throw Error(fmt::format("lm finetune: the loss of step {} is not finite ({}); lower --lr or use fp32",
                                r.steps + 1, value));
      tokens_seen += batch.real_tokens;
      if (r.steps == 0) r.first_loss = value;
      epoch_loss += value / static_cast<double>(per_epoch);
      ++r.steps;
      log += nlohmann::json{{"step", r.steps}, {"epoch", epoch + 1}, {"loss", value}, {"tokens", batch.real_tokens}}
                 .dump() +
             "\n";
      if (progress && (r.steps == 1 || r.steps % 10 == 0 || r.steps == total_steps))
        progress(fmt::format("lm finetune: step {}/{} (epoch {}) loss {:.4f}", r.steps, total_steps, epoch + 1, value));
    }
  }
  r.last_loss = epoch_loss;
  r.tokens_per_second = seconds > 0 ? static_cast<double>(tokens_seen) / seconds : 0.0;

  // The output: adapters in PEFT's format, or the whole model in transformers' layout, float32.
  model->eval();
  if (q.full) {
    model->to(torch::kFloat32);
    lm::save_hf_mamba(*model, pretrained.config, out.path());
  } else {
    lm::save_peft_adapters(*model, {q.lora, q.targets, q.model_dir.string()}, out.path());
  }
  io::write_file_atomic(out.path() / lm::kTokenizerFile, io::read_file(pretrained.tokenizer_file));
  io::write_file_atomic(out.path() / "train_log.jsonl", log);
  nlohmann::ordered_json record = {
      {"model", q.model_dir.string()},
      {"data", q.data.string()},
      {"template", "alpaca (instruction, input, output) or chat (messages); see docs/LANGUAGE_MODELS.md"},
      {"mode", q.full ? "full" : "lora"},
      {"precision", std::string(enum_name(q.precision))},
      {"epochs", q.epochs},
      {"batch", q.batch},
      {"max_length", q.max_length},
      {"lr", q.lr},
      {"seed", q.seed},
      {"examples", r.examples},
      {"steps", r.steps},
      {"trainable_parameters", r.trainable},
      {"total_parameters", r.total},
      {"first_loss", r.first_loss},
      {"last_epoch_loss", r.last_loss},
      {"tokens_per_second", r.tokens_per_second}};
  if (!q.full) {
    record["lora"] = {{"r", q.lora.rank}, {"alpha", q.lora.alpha}, {"dropout", q.lora.dropout}, {"targets", q.targets}};
    record["peft_loadable"] = r.peft_loadable;
    if (!r.peft_loadable)
      record["note"] =
          "out_proj is adapted: PEFT refuses out_proj as a LoRA target for Mamba models, so PeftModel.from_pretrained "
          "will not load this folder; ftmamba does (lm generate --adapters)";
  }
  io::write_file_atomic(out.path() / "ftmamba_finetune.json", record.dump(2) + "\n");
  out.commit();
  return r;
}

}  // namespace ftmamba::experiments
