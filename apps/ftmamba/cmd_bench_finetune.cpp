// defines: `ftmamba bench finetune`: causal-LM fine-tuning steps of a Mamba language model at the published
// checkpoints' shapes, full and LoRA, fp32 and mixed precision, each variant in its own process
// (experiments/lm_finetune_sweep.h). Prints one JSON line per measurement and writes bench-finetune.json and
// bench-finetune.md into --out.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "cli_checks.h"
#include "cli_device.h"
#include "cli_lists.h"
#include "commands.h"
#include "ftmamba/experiments/lm_finetune_sweep.h"
#include "ftmamba/run/config_limits.h"

namespace ftmamba::cli {

void add_bench_finetune_subcommand(CLI::App* bench) {
  auto* cmd = bench->add_subcommand(
      "finetune",
      "Causal-LM fine-tuning of a Mamba language model (full / LoRA x precision): tokens/s, memory per token");
  struct Args {
    std::string shapes = "130m,370m", lengths = "512,1024";
    std::string variants = "full-fp32,full-bf16,lora-fp32,lora-bf16";
    std::string device = "auto", targets = "in_proj,x_proj,dt_proj,out_proj";
    bool no_graph = false;
    bool single = false;  // internal: measure one (shape, length, variant) in this process
    experiments::LmFinetuneSweepOptions options;
  };
  auto args = std::make_shared<Args>();
  auto& o = args->options;
  cmd->add_option("--shapes", args->shapes,
                  "Comma-separated model shapes: 130m, 370m, 790m, 1.4b (the Mamba checkpoints), or LAYERSxD_MODEL")
      ->capture_default_str();
  cmd->add_option("--lengths", args->lengths, "Comma-separated sequence lengths")->capture_default_str();
  cmd->add_option("--variants", args->variants,
                  "Comma-separated MODE-PRECISION (full or lora; fp32, bf16, fp16, bf16-pure); full-fp32 is the "
                  "reference the ratios are taken against")
      ->capture_default_str();
  check_int_range(cmd->add_option("--batch", o.batch, "Sequences per step")->capture_default_str(), 1,
                  run::limits::kBatchSize.max);
  check_int_range(cmd->add_option("--steps", o.steps, "Timed steps (the median is reported)")->capture_default_str(), 1,
                  1000000);
  check_int_range(cmd->add_option("--warmup", o.warmup, "Untimed steps first")->capture_default_str(), 0, 1000000);
  check_int_range(
      cmd->add_option("--vocab", o.vocab, "Vocabulary size (tied embedding and LM head)")->capture_default_str(), 2,
      int64_t{1} << 24);
  check_int_range(cmd->add_option("--lora.rank", o.lora_rank, "LoRA rank")->capture_default_str(), 1, 4096);
  cmd->add_option("--lora.alpha", o.lora_alpha, "LoRA alpha")->capture_default_str();
  cmd->add_option("--lora.targets", args->targets, "LoRA targets (globs over projection paths)")->capture_default_str();
  cmd->add_option("--seed", o.seed, "Seed of the weights and the tokens")->capture_default_str();
  cmd->add_option("--text", o.text,
                  "Train on this text instead of random tokens: consecutive windows of its ids (with --tokenizer)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--tokenizer", o.tokenizer, "The tokenizer.json that cuts --text")->check(CLI::ExistingFile);
  cmd->add_option("--out", o.out, "Report folder")->capture_default_str();
  add_device_option(cmd, args->device);
  cmd->add_flag("--no-graph", args->no_graph, "On a GPU, run every step eagerly instead of replaying a CUDA graph");
  cmd->add_flag("--single", args->single,
                "Measure the first shape, length and variant in this process and print "
                "its JSON line (what each child process runs)")
      ->group("");
  cmd->callback([args] {
    auto o = args->options;
    o.shapes = split_list(args->shapes);
    o.lengths = parse_int_list("--lengths", args->lengths);
    for (const auto& v : split_list(args->variants)) o.variants.push_back(train::parse_finetune_variant(v));
    o.lora_targets = split_list(args->targets);
    o.cuda_graph = !args->no_graph;
    o.device = choose_device(args->device);
    experiments::check_lm_finetune_sweep(o);
    if (args->single) {
      fmt::print("{}\n", experiments::measure_lm_finetune(o, o.shapes[0], o.lengths[0], o.variants[0]).dump());
      return;
    }
    experiments::run_lm_finetune_sweep(o, [](const nlohmann::ordered_json& row) {
      fmt::print("{}\n", row.dump());
      std::fflush(stdout);
    });
    fmt::print(stderr, "bench finetune: wrote {} and bench-finetune.md\n",
               (std::filesystem::path(o.out) / "bench-finetune.json").string());
  });
}

}  // namespace ftmamba::cli
