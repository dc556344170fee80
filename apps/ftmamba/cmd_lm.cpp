// defines: `ftmamba lm`, the commands of pretrained Mamba language models (checkpoints in Hugging Face's layout):
// `lm score` prints each token's log-likelihood given the ones before it; `lm tokenize` prints the ids of a text
// (or the text of ids); `lm generate` continues prompts, streaming the text as it comes.
#include <fmt/format.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli_checks.h"
#include "cli_device.h"
#include "cli_output.h"
#include "cli_precision.h"
#include "commands.h"
#include "ftmamba/core/enum_text.h"
#include "ftmamba/core/error.h"
#include "ftmamba/core/printable.h"
#include "ftmamba/experiments/lm_finetune_run.h"
#include "ftmamba/io/safetensors.h"
#include "ftmamba/lm/few_shot_eval.h"
#include "ftmamba/lm/generate.h"
#include "ftmamba/lm/generation_run.h"
#include "ftmamba/lm/merge_adapters.h"
#include "ftmamba/lm/pretrained.h"
#include "ftmamba/lm/prompt_file.h"
#include "ftmamba/lm/score.h"

namespace ftmamba::cli {
namespace {

// "1,2, 3" -> {1, 2, 3}; a usage error (exit 2) naming the entry that is not a whole number.
std::vector<int64_t> parse_ids(const std::string& text) {
  std::vector<int64_t> ids;
  std::string entry;
  const auto flush = [&] {
    if (entry.empty()) return;
    size_t used = 0;
    int64_t id = 0;
    try {
      id = std::stoll(entry, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != entry.size()) throw UsageError("--ids: '" + printable(entry) + "' is not a token id (a whole number)");
    ids.push_back(id);
    entry.clear();
  };
  for (const char c : text) {
    if (c == ',' || c == ' ') {
      flush();
    } else {
      entry += c;
    }
  }
  flush();
  if (ids.empty()) throw UsageError("--ids: no token ids given");
  return ids;
}

void add_score_command(CLI::App* lm);
void add_tokenize_command(CLI::App* lm);
void add_generate_command(CLI::App* lm);
void add_finetune_command(CLI::App* lm);
void add_eval_command(CLI::App* lm);
void add_merge_command(CLI::App* lm);

}  // namespace

void add_lm_command(CLI::App& app) {
  auto* lm = app.add_subcommand("lm", "Pretrained Mamba language models (Hugging Face MambaForCausalLM folders)");
  lm->require_subcommand(1);
  add_score_command(lm);
  add_tokenize_command(lm);
  add_generate_command(lm);
  add_finetune_command(lm);
  add_eval_command(lm);
  add_merge_command(lm);
}

namespace {

void add_score_command(CLI::App* lm) {
  auto* score = lm->add_subcommand("score", "Print each token's log-likelihood given the tokens before it");
  struct Args {
    std::string model, adapters, ids, text, logits_out, device = "auto";
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  score->add_option("--model", args->model, "Model folder: config.json and model.safetensors (or shards)")->required();
  score->add_option("--adapters", args->adapters, "LoRA adapters to load on top (lm finetune's output, or PEFT's)");
  auto* ids_opt = score->add_option("--ids", args->ids, "Token ids, separated by commas or spaces");
  auto* text_opt = score->add_option("--text", args->text, "A text, tokenized with the folder's tokenizer.json");
  ids_opt->excludes(text_opt);
  score->add_option("--logits-out", args->logits_out,
                    "Also write the logits, (tokens, vocab) F32, to a .safetensors file");
  score->add_flag("--json", args->json, "Print one JSON object");
  add_device_option(score, args->device);
  score->callback([args, ids_opt, text_opt] {
    if (ids_opt->count() + text_opt->count() == 0) throw UsageError("lm score: give --ids or --text");
    if (!args->logits_out.empty() && std::filesystem::exists(args->logits_out) &&
        std::filesystem::is_directory(args->logits_out))
      throw Error("--logits-out " + printable(args->logits_out) + " is a folder");
    std::vector<int64_t> ids = ids_opt->count() ? parse_ids(args->ids) : std::vector<int64_t>{};
    auto pretrained = lm::PretrainedLM::load(args->model, choose_device(args->device), args->adapters);
    if (text_opt->count()) ids = pretrained.require_tokenizer().encode(args->text);
    if (ids.empty()) throw Error("--text: the text has no tokens");
    const auto scores = lm::score_tokens(*pretrained.model, ids);
    if (!args->logits_out.empty()) io::save_safetensors(args->logits_out, {{"logits", scores.logits}});
    if (args->json) {
      nlohmann::ordered_json j = {
          {"tokens", ids.size()}, {"log_likelihood", scores.log_likelihood}, {"total", scores.total()}};
      fmt::print("{}\n", j.dump());
      return;
    }
    fmt::print("position  id  log-likelihood\n");
    for (size_t t = 1; t < ids.size(); ++t) fmt::print("{:8}  {}  {:.6f}\n", t, ids[t], scores.log_likelihood[t - 1]);
    fmt::print("total {:.6f} over {} predicted tokens\n", scores.total(), ids.size() - 1);
  });
}

void add_tokenize_command(CLI::App* lm) {
  auto* cmd = lm->add_subcommand("tokenize", "Print the token ids of a text, or the text of token ids");
  struct Args {
    std::string model, text, ids;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--model", args->model, "Model folder with tokenizer.json (or the tokenizer.json itself)")
      ->required();
  auto* text_opt = cmd->add_option("--text", args->text, "The text to tokenize");
  auto* ids_opt = cmd->add_option("--ids", args->ids, "Token ids to decode, separated by commas or spaces");
  text_opt->excludes(ids_opt);
  cmd->add_flag("--json", args->json, "Print one JSON object");
  cmd->callback([args, text_opt, ids_opt] {
    if (text_opt->count() + ids_opt->count() == 0) throw UsageError("lm tokenize: give --text or --ids");
    const std::filesystem::path model(args->model);
    const auto tokenizer =
        lm::Tokenizer::load(std::filesystem::is_directory(model) ? model / lm::kTokenizerFile : model);
    if (text_opt->count()) {
      const auto ids = tokenizer.encode(args->text);
      if (args->json) {
        fmt::print("{}\n", nlohmann::json{{"ids", ids}}.dump());
      } else {
        for (size_t i = 0; i < ids.size(); ++i) fmt::print("{}{}", i ? " " : "", ids[i]);
        fmt::print("\n");
      }
      return;
    }
    const std::string text = tokenizer.decode(parse_ids(args->ids));
    if (args->json) {
      fmt::print("{}\n", nlohmann::json{{"text", text}}.dump());
    } else {
      fmt::print("{}\n", text);
    }
  });
}

void add_generate_command(CLI::App* lm) {
  auto* cmd = lm->add_subcommand("generate",
                                 "Continue prompts: prefill with the parallel scan, then decode a token "
                                 "at a time with the recurrent step");
  struct Args {
    std::string model, adapters, prompt, prompts, ids, device = "auto", precision = "fp32";
    lm::SamplingOptions sampling;
    bool json = false, ignore_eos = false, no_cuda_graph = false, per_layer_kernels = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--model", args->model, "Model folder: config.json, model.safetensors, tokenizer.json")->required();
  cmd->add_option("--adapters", args->adapters, "LoRA adapters to load on top (lm finetune's output, or PEFT's)");
  auto* prompt_opt = cmd->add_option("--prompt", args->prompt, "The prompt, as text");
  auto* prompts_opt = cmd->add_option("--prompts", args->prompts,
                                      "A file of prompts, one per line (.jsonl: {\"prompt\": ...} per line), decoded "
                                      "together as one batch; prints one JSON line per prompt");
  auto* ids_opt = cmd->add_option("--ids", args->ids, "The prompt as token ids, separated by commas or spaces");
  prompt_opt->excludes(prompts_opt)->excludes(ids_opt);
  prompts_opt->excludes(ids_opt);
  check_int_range(cmd->add_option("--max-new-tokens", args->sampling.max_new_tokens, "New tokens per prompt at most")
                      ->capture_default_str(),
                  0, 1 << 20);
  check_real_at_least(cmd->add_option("--temperature", args->sampling.temperature,
                                      "Sampling temperature; 0 = greedy (the most likely token)")
                          ->capture_default_str(),
                      0.0);
  check_int_range(cmd->add_option("--top-k", args->sampling.top_k, "Sample among the k most likely tokens; 0 = all")
                      ->capture_default_str(),
                  0, std::numeric_limits<int32_t>::max());
  cmd->add_option("--top-p", args->sampling.top_p,
                  "Sample among the most likely tokens whose probabilities sum to at least p, in (0, 1]")
      ->capture_default_str();
  cmd->add_option("--seed", args->sampling.seed, "Seed of the sampling")->capture_default_str();
  cmd->add_flag("--ignore-eos", args->ignore_eos, "Do not stop at the model's end-of-text token (eos_token_id)");
  cmd->add_flag("--json", args->json, "Print one JSON object per prompt, with the ids and the speed");
  cmd->add_flag("--no-cuda-graph", args->no_cuda_graph,
                "On a CUDA device, run each decode step eagerly instead of replaying a captured CUDA graph");
  cmd->add_flag("--per-layer-kernels", args->per_layer_kernels,
                "On a CUDA device, run a decode step as each layer's own kernels instead of all layers in one");
  check_choice(cmd->add_option("--precision", args->precision,
                               "fp32, or bf16: the projections and the embedding held in bfloat16, the matmuls "
                               "under bf16 autocast, the SSM state and the residual stream float32")
                   ->capture_default_str(),
               {"fp32", "bf16"});
  add_device_option(cmd, args->device);
  cmd->callback([args, prompt_opt, prompts_opt, ids_opt] {
    if (prompt_opt->count() + prompts_opt->count() + ids_opt->count() == 0)
      throw UsageError("lm generate: give --prompt, --prompts or --ids");
    lm::GenerationRequest request;
    request.model_dir = args->model;
    request.adapters = args->adapters;
    request.device = choose_device(args->device);
    if (ids_opt->count()) request.prompt_ids = parse_ids(args->ids);
    if (prompts_opt->count()) request.prompt_texts = lm::read_prompts(args->prompts);
    if (prompt_opt->count()) request.prompt_texts = {args->prompt};
    request.sampling = args->sampling;
    request.sampling.cuda_graph = !args->no_cuda_graph;
    request.sampling.fused_decode = !args->per_layer_kernels;
    request.sampling.precision = parse_enum<ops::Precision>(args->precision);
    request.ignore_eos = args->ignore_eos;
    request.stream_text = !args->json;  // one text prompt in plain text: its continuation printed as it comes
    const auto out = lm::run_generation(request, [](const std::string& text) {
      fmt::print("{}", text);
      std::fflush(stdout);
    });
    const auto& times = out.times;
    const double decode_rate = times.decode_seconds > 0 ? times.decoded_tokens / times.decode_seconds : 0.0;
    if (out.streamed) {
      fmt::print("\n");
    } else if (args->json || out.prompts.size() > 1) {
      for (size_t row = 0; row < out.prompts.size(); ++row) {
        nlohmann::ordered_json j;
        if (row < request.prompt_texts.size() && request.prompt_ids.empty()) j["prompt"] = request.prompt_texts[row];
        j["prompt_ids"] = out.prompts[row];
        j["ids"] = out.outputs[row];
        if (!out.completions.empty()) j["completion"] = out.completions[row];
        j["prefill_seconds"] = times.prefill_seconds;
        j["decode_tokens_per_second"] = decode_rate;
        j["cuda_graph"] = times.cuda_graph;
        j["fused_decode"] = request.sampling.fused_decode;
        j["precision"] = args->precision;
        fmt::print("{}\n", j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
      }
    } else {
      for (size_t i = 0; i < out.outputs[0].size(); ++i) fmt::print("{}{}", i ? " " : "", out.outputs[0][i]);
      fmt::print("\n");
    }
    fmt::print(stderr, "lm generate: {} prompt tokens prefilled in {:.3f} s; {} new tokens at {:.1f} tokens/s\n",
               times.prompt_tokens, times.prefill_seconds, times.decoded_tokens, decode_rate);
  });
}

void add_finetune_command(CLI::App* lm) {
  auto* cmd = lm->add_subcommand("finetune",
                                 "Fine-tune on instruction data (Alpaca or chat JSON Lines), the loss on "
                                 "the responses: LoRA adapters (PEFT's format) or every weight (--full)");
  struct Args {
    experiments::LmFinetuneRequest request;
    std::string model, data, out, precision = "fp32", device = "auto";
    std::vector<std::string> targets;
  };
  auto args = std::make_shared<Args>();
  auto& q = args->request;
  cmd->add_option("--model", args->model, "Model folder (transformers' or mamba_ssm's layout) with tokenizer.json")
      ->required();
  cmd->add_option("--data", args->data,
                  "JSON Lines: {\"instruction\", \"input\", \"output\"} or {\"messages\": [{\"role\", "
                  "\"content\"}]} per line (docs/LANGUAGE_MODELS.md gives the template)")
      ->required();
  cmd->add_option("--out", args->out, "Output folder: the adapters (PEFT), or with --full the model")->required();
  cmd->add_flag("--full", q.full, "Train every weight instead of LoRA adapters");
  cmd->add_flag("--gradient-checkpointing", q.gradient_checkpointing,
                "Recompute each layer's activations in the backward instead of keeping them (long contexts: less "
                "memory, a second forward)");
  add_precision_option(cmd, args->precision, " (default fp32)");
  cmd->add_option("--lora.rank", q.lora.rank, "Adapter rank r")->capture_default_str();
  cmd->add_option("--lora.alpha", q.lora.alpha, "Adapter scaling alpha (the update is alpha / r B A x)")
      ->capture_default_str();
  cmd->add_option("--lora.dropout", q.lora.dropout, "Dropout on the adapters' input, in training")
      ->capture_default_str();
  cmd->add_option("--lora.targets", args->targets,
                  "Projections to adapt (default: in_proj x_proj dt_proj out_proj; PEFT refuses out_proj for Mamba and "
                  "transformers bypasses a dt_proj adapter, "
                  "so adapters on either run as trained in ftmamba only; in_proj x_proj for PEFT)");
  check_int_range(cmd->add_option("--epochs", q.epochs, "Passes over the data")->capture_default_str(), 1, 1000000);
  check_int_range(cmd->add_option("--batch", q.batch, "Sequences per step")->capture_default_str(), 1, 1 << 20);
  check_int_range(cmd->add_option("--max-length", q.max_length, "Tokens per sequence at most (longer ones are cut)")
                      ->capture_default_str(),
                  2, 1 << 24);
  cmd->add_option("--lr", q.lr, "AdamW learning rate")->capture_default_str();
  cmd->add_option("--seed", q.seed, "Seed of the adapters' initialisation and the data order")->capture_default_str();
  cmd->add_flag("--force", q.force, "Replace an existing output folder of the same kind");
  add_resume_flag(cmd, q.resume);
  check_int_range(cmd->add_option("--checkpoint-steps", q.checkpoint_steps,
                                  "A checkpoint for --resume every so many steps, besides each epoch's end (0: only "
                                  "there)")
                      ->capture_default_str(),
                  0, 1 << 30);
  add_device_option(cmd, args->device);
  cmd->callback([args] {
    auto q = args->request;
    q.model_dir = args->model;
    q.data = args->data;
    q.out = args->out;
    q.precision = parse_enum<ops::Precision>(args->precision);
    q.device = choose_device(args->device);
    if (!args->targets.empty()) q.targets = args->targets;
    if (const auto note = ops::slow_precision_note(q.precision, q.device); !note.empty())
      fmt::print(stderr, "note: {}\n", note);
    const auto r = experiments::run_lm_finetune(q, [](const std::string& line) {
      fmt::print(stderr, "{}\n", line);
      std::fflush(stderr);
    });
    fmt::print(
        "fine-tuned {} ({}, {}): {} examples, {} steps, loss {:.4f} -> {:.4f} (last epoch), {:.0f} tokens/s, {} of "
        "{} parameters trained\n",
        args->model, q.full ? "full" : "LoRA", enum_name(q.precision), r.examples, r.steps, r.first_loss, r.last_loss,
        r.tokens_per_second, r.trainable, r.total);
    fmt::print("wrote {}\n", args->out);
    if (!r.peft_loadable()) fmt::print("note: {}\n", r.peft_note);
  });
}

void add_eval_command(CLI::App* lm) {
  auto* cmd = lm->add_subcommand("eval",
                                 "Few-shot multiple-choice accuracy (acc, acc_norm) and the in-context "
                                 "learning gain over zero-shot, per task");
  struct Args {
    std::string model, adapters, tasks, shots = "0,1,3,5", device = "auto";
    lm::FewShotOptions options;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--model", args->model, "Model folder with tokenizer.json")->required();
  cmd->add_option("--adapters", args->adapters, "LoRA adapters to load on top (lm finetune's output, or PEFT's)");
  cmd->add_option("--tasks", args->tasks,
                  "JSON Lines of docs: {\"task\", \"context\", \"choices\", \"gold\", \"split\": "
                  "eval|fewshot} (docs/LANGUAGE_MODELS.md)")
      ->required();
  cmd->add_option("--shots", args->shots, "Numbers of in-context examples, separated by commas")->capture_default_str();
  cmd->add_option("--seed", args->options.seed, "Seed of the examples' draw")->capture_default_str();
  check_int_range(
      cmd->add_option("--limit", args->options.limit, "Eval docs per task at most; 0 = all")->capture_default_str(), 0,
      std::numeric_limits<int32_t>::max());
  cmd->add_flag("--json", args->json, "Print one JSON object");
  add_device_option(cmd, args->device);
  cmd->callback([args] {
    auto options = args->options;
    options.shots.clear();
    for (const int64_t k : parse_ids(args->shots)) {
      if (k < 0) throw UsageError("--shots: '" + std::to_string(k) + "' is not a number of shots (0 or more)");
      options.shots.push_back(k);
    }
    const auto docs = lm::read_choice_tasks(args->tasks);
    auto pretrained = lm::PretrainedLM::load(args->model, choose_device(args->device), args->adapters);
    const auto report = lm::evaluate_few_shot(*pretrained.model, pretrained.require_tokenizer(), docs, options);
    const auto row = [](const lm::ShotScore& s) {
      return nlohmann::ordered_json{{"shots", s.shots},       {"docs", s.docs},     {"acc", s.acc},
                                    {"acc_norm", s.acc_norm}, {"icl_gain", s.gain}, {"icl_gain_norm", s.gain_norm}};
    };
    if (args->json) {
      nlohmann::ordered_json j = {{"tasks", nlohmann::ordered_json::array()},
                                  {"average", nlohmann::ordered_json::array()}};
      for (const auto& t : report.tasks) {
        nlohmann::ordered_json rows = nlohmann::ordered_json::array();
        for (const auto& s : t.by_shots) rows.push_back(row(s));
        j["tasks"].push_back({{"task", t.task}, {"by_shots", rows}});
      }
      for (const auto& s : report.average) j["average"].push_back(row(s));
      fmt::print("{}\n", j.dump());
      return;
    }
    fmt::print("{:<24} {:>5} {:>6} {:>7} {:>9} {:>9}\n", "task", "shots", "docs", "acc", "acc_norm", "ICL gain");
    for (const auto& t : report.tasks)
      for (const auto& s : t.by_shots)
        fmt::print("{:<24} {:>5} {:>6} {:>7.4f} {:>9.4f} {:>+9.4f}\n", printable(t.task), s.shots, s.docs, s.acc,
                   s.acc_norm, s.gain);
    for (const auto& s : report.average)
      fmt::print("{:<24} {:>5} {:>6} {:>7.4f} {:>9.4f} {:>+9.4f}\n", "(average over tasks)", s.shots, s.docs, s.acc,
                 s.acc_norm, s.gain);
  });
}

void add_merge_command(CLI::App* lm) {
  auto* cmd = lm->add_subcommand("merge",
                                 "Fold LoRA adapters into the base model: one plain model folder "
                                 "(transformers' layout) that runs without PEFT");
  auto q = std::make_shared<lm::MergeRequest>();
  auto strings = std::make_shared<std::array<std::string, 3>>();
  cmd->add_option("--model", (*strings)[0], "The base model folder")->required();
  cmd->add_option("--adapters", (*strings)[1], "The adapters (lm finetune's output, or PEFT's)")->required();
  cmd->add_option("--out", (*strings)[2], "Output folder")->required();
  cmd->add_flag("--force", q->force, "Replace an existing output folder of the same kind");
  cmd->callback([q, strings] {
    q->model_dir = (*strings)[0];
    q->adapters = (*strings)[1];
    q->out = (*strings)[2];
    const int64_t merged = lm::merge_adapters(*q);
    fmt::print("merged {} adapted projections into {}\n", merged, q->out.string());
  });
}

}  // namespace

}  // namespace ftmamba::cli
