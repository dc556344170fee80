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
#include "ftmamba/core/interrupt.h"
#include "ftmamba/experiments/lm_finetune_bench.h"
#include "ftmamba/experiments/lm_finetune_checkpoint.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/io/sha256.h"
#include "ftmamba/io/staged_dir.h"
#include "ftmamba/lm/instruction_data.h"
#include "ftmamba/lm/peft_adapters.h"
#include "ftmamba/lm/pretrained.h"
#include "ftmamba/train/checkpoint.h"
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

// Why PEFT + transformers cannot reproduce these adapters ("" when they can).
std::string peft_note(const LmFinetuneRequest& q) {
  if (q.full) return "";
  const auto has = [&](const char* t) { return std::find(q.targets.begin(), q.targets.end(), t) != q.targets.end(); };
  std::string note;
  if (has("out_proj"))
    note +=
        "out_proj is adapted: PEFT refuses out_proj as a LoRA target for Mamba models, so "
        "PeftModel.from_pretrained will not load this folder. ";
  if (has("dt_proj"))
    note +=
        "dt_proj is adapted: PEFT loads that adapter, but transformers' MambaMixer multiplies by dt_proj.weight "
        "directly, so there it changes nothing (PeftModel's logits equal the base model's). ";
  if (!note.empty())
    note += "ftmamba runs these adapters as trained: lm generate / score / eval --adapters, or lm merge";
  return note;
}

// The LoRA options as ftmamba_finetune.json and the checkpoint's settings record them.
nlohmann::ordered_json lora_record(const LmFinetuneRequest& q) {
  return {{"r", q.lora.rank}, {"alpha", q.lora.alpha}, {"dropout", q.lora.dropout}, {"targets", q.targets}};
}

// What makes two runs the same run: a checkpoint is resumed only under the same settings (the thread count and
// checkpoint interval may change).
nlohmann::ordered_json run_settings(const LmFinetuneRequest& q) {
  return {{"model", std::filesystem::absolute(q.model_dir).lexically_normal().string()},
          {"data_sha256", io::sha256_file(q.data)},
          {"full", q.full},
          {"precision", std::string(enum_name(q.precision))},
          {"lora", lora_record(q)},
          {"epochs", q.epochs},
          {"batch", q.batch},
          {"max_length", q.max_length},
          {"lr", q.lr},
          {"max_grad_norm", q.max_grad_norm},
          {"weight_decay", q.weight_decay},
          {"seed", q.seed},
          {"device", q.device.str()}};
}

// The trained parameters ("param/<name>"), the optimizer's moments, the scaler and LibTorch's generators.
io::NamedTensors training_state(nn::MambaLMImpl& model, const train::MultiTensorAdamW& optimizer,
                                const ops::DynamicLossScaler* scaler, torch::Device device) {
  io::NamedTensors t;
  for (const auto& p : model.named_parameters())
    if (p.value().requires_grad()) t.emplace_back("param/" + p.key(), p.value());
  for (const auto& [name, v] : optimizer.state()) t.emplace_back("optimizer/" + name, v);
  if (scaler)
    for (const auto& [name, v] : scaler->state()) t.emplace_back("scaler/" + name, v);
  train::save_torch_generators(t, device);
  return t;
}

void restore_training_state(const io::NamedTensors& tensors, nn::MambaLMImpl& model, train::MultiTensorAdamW& optimizer,
                            ops::DynamicLossScaler* scaler, torch::Device device, const std::filesystem::path& file) {
  std::map<std::string, torch::Tensor> by_name(tensors.begin(), tensors.end());
  torch::NoGradGuard no_grad;
  for (auto& p : model.named_parameters()) {
    if (!p.value().requires_grad()) continue;
    const auto it = by_name.find("param/" + p.key());
    if (it == by_name.end() || it->second.sizes() != p.value().sizes())
      throw Error(file.string() + ": the checkpoint does not hold parameter " + p.key() + " of this model's shape");
    p.value().copy_(it->second);
  }
  optimizer.load_state(by_name, "optimizer/");
  if (scaler)
    for (const auto& [name, v] : scaler->state()) {
      const auto it = by_name.find("scaler/" + name);
      if (it == by_name.end()) throw Error(file.string() + ": the checkpoint has no loss scaler state");
      torch::Tensor live = v;
      live.copy_(it->second);
    }
  train::load_torch_generators(by_name, device);
}

}  // namespace

LmFinetuneResult run_lm_finetune(const LmFinetuneRequest& q, const std::function<void(const std::string&)>& progress) {
  if (q.epochs < 1 || q.batch < 1) throw Error("lm finetune: --epochs and --batch must be at least 1");
  if (!(q.lr > 0) || !std::isfinite(q.lr)) throw Error("lm finetune: --lr must be a positive number");
  ops::check_precision_supported(q.precision, q.device);
  io::OutputPolicy policy;
  policy.kind = io::OutputKind::kRun;
  policy.force = q.force;
  policy.resume = q.resume;
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
  model->gradient_checkpointing = q.gradient_checkpointing;
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
  r.peft_note = peft_note(q);
  for (const auto& ex : examples)
    for (size_t t = 1; t < ex.targets.size(); ++t) r.target_tokens += ex.targets[t];

  io::StagedDir out(q.out, policy);
  const auto checkpoint_dir = out.path() / io::kCheckpointDir;
  // Whatever stops the run from here on (an error, a refused resume, a signal) keeps its checkpoint for --resume.
  try {
    train::MultiTensorAdamW optimizer(*model, q.weight_decay);
    optimizer.set_lr(q.lr);
    std::optional<ops::DynamicLossScaler> scaler;
    if (q.precision == ops::Precision::kFp16) scaler.emplace(q.device);

    // Where the run stands: a fresh start, or (--resume) the interrupted run's checkpoint, if it is the same run.
    LmFinetuneCheckpoint ck;
    ck.settings = run_settings(q);
    auto generator = at::make_generator<at::CPUGeneratorImpl>(q.seed);
    if (out.adopted() && has_lm_finetune_checkpoint(checkpoint_dir)) {
      LmFinetuneCheckpoint saved = load_lm_finetune_checkpoint(checkpoint_dir);
      if (saved.settings != ck.settings) {
        const auto diff = nlohmann::json::diff(saved.settings, ck.settings);
        const std::string where = diff.empty() ? "?" : diff[0].value("path", "?");
        if (!q.force)
          throw Error(
              fmt::format("{}: the interrupted run was started with other settings or data (first difference "
                          "at {}); resume with the same arguments, or pass --force to start again",
                          lm_finetune_checkpoint_file(checkpoint_dir).string(), where));
        std::filesystem::remove_all(checkpoint_dir);  // --force: another run replaces the interrupted one
      } else {
        restore_training_state(saved.tensors, *model, optimizer, scaler ? &*scaler : nullptr, q.device,
                               lm_finetune_checkpoint_file(checkpoint_dir));
        generator.set_state(saved.order_rng);
        ck = std::move(saved);
        ck.tensors.clear();
        r.resumed = true;
        if (progress) progress(fmt::format("lm finetune: resuming at epoch {}, step {}", ck.epoch + 1, ck.step));
      }
    }
    const auto write_checkpoint = [&] {
      ck.order_rng = generator.get_state();
      ck.tensors = training_state(*model, optimizer, scaler ? &*scaler : nullptr, q.device);
      save_lm_finetune_checkpoint(checkpoint_dir, ck);
      ck.tensors.clear();
    };
    StopAtNextStep stop_at_next_step;  // a signal: checkpoint at the step's end, then stop
    const auto stop_if_interrupted = [&] {
      if (const int sig = interrupt_signal())
        throw Interrupted(fmt::format("lm finetune: stopped by signal {} at epoch {}, step {}; the checkpoint is kept: "
                                      "run the same command with --resume to continue",
                                      sig, ck.epoch + 1, ck.step),
                          sig);
    };

    const int64_t per_epoch = (r.examples + q.batch - 1) / q.batch;
    const int64_t total_steps = per_epoch * q.epochs;
    while (ck.epoch < q.epochs) {
      if (ck.step == 0) {
        ck.order = torch::randperm(r.examples, generator, torch::kInt64);
        ck.epoch_loss = 0;
      }
      while (ck.step < per_epoch) {
        const int64_t begin = ck.step * q.batch, end = std::min(r.examples, begin + q.batch);
        std::vector<int64_t> rows(ck.order.data_ptr<int64_t>() + begin, ck.order.data_ptr<int64_t>() + end);
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
        ck.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (!std::isfinite(value))
          throw Error(fmt::format("lm finetune: the loss of step {} is not finite ({}); lower --lr or use fp32",
                                  ck.steps + 1, value));
        ck.tokens_seen += batch.real_tokens;
        if (ck.steps == 0) ck.first_loss = value;
        ck.epoch_loss += value / static_cast<double>(per_epoch);
        ++ck.steps;
        ++ck.step;
        ck.log +=
            nlohmann::json{{"step", ck.steps}, {"epoch", ck.epoch + 1}, {"loss", value}, {"tokens", batch.real_tokens}}
                .dump() +
            "\n";
        if (progress && (ck.steps == 1 || ck.steps % 10 == 0 || ck.steps == total_steps))
          progress(fmt::format("lm finetune: step {}/{} (epoch {}) loss {:.4f}", ck.steps, total_steps, ck.epoch + 1,
                               value));
        const bool due = q.checkpoint_steps > 0 && ck.steps % q.checkpoint_steps == 0;
        if (ck.step < per_epoch && (due || interrupt_signal())) {  // else at the epoch's end, below
          write_checkpoint();
          stop_if_interrupted();
        }
      }
      ++ck.epoch;  // the next epoch starts afresh; ck.epoch_loss keeps this one's until then
      ck.step = 0;
      ck.order = torch::Tensor();
      write_checkpoint();
      stop_if_interrupted();
    }
    r.steps = ck.steps;
    r.first_loss = ck.first_loss;
    r.last_loss = ck.epoch_loss;
    r.tokens_per_second = ck.seconds > 0 ? static_cast<double>(ck.tokens_seen) / ck.seconds : 0.0;

    // The output: adapters in PEFT's format, or the whole model in transformers' layout, float32.
    model->eval();
    if (q.full) {
      model->to(torch::kFloat32);
      lm::save_hf_mamba(*model, pretrained.config, out.path());
    } else {
      lm::save_peft_adapters(*model, {q.lora, q.targets, q.model_dir.string()}, out.path());
    }
    io::write_file_atomic(out.path() / lm::kTokenizerFile, io::read_file(pretrained.tokenizer_file));
    io::write_file_atomic(out.path() / "train_log.jsonl", ck.log);
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
        {"tokens_per_second", r.tokens_per_second},
        {"gradient_checkpointing", q.gradient_checkpointing},
        {"resumed", r.resumed}};
    if (!q.full) {
      record["lora"] = lora_record(q);
      record["peft_loadable"] = r.peft_loadable();
      if (!r.peft_loadable()) record["note"] = r.peft_note;
    }
    io::write_file_atomic(out.path() / "ftmamba_finetune.json", record.dump(2) + "\n");
    std::filesystem::remove_all(checkpoint_dir);  // the run is complete: its output holds no checkpoint
    out.commit();
  } catch (...) {
    if (has_lm_finetune_checkpoint(checkpoint_dir)) out.keep();  // for --resume
    throw;
  }
  return r;
}

}  // namespace ftmamba::experiments
