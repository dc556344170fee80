// defines: `ftmamba compare-finetune`, the fine-tuning scenario: a base model fine-tuned on shifted data in
// several variants (full or LoRA, each in several precisions), compared in finetune.json, finetune.md and a
// figure (experiments/compare_finetune.h).
#include <fmt/format.h>

#include "cli_device.h"
#include "cli_lists.h"
#include "cli_threads.h"
#include "commands.h"
#include "ftmamba/core/error.h"
#include "ftmamba/experiments/compare_finetune.h"

namespace ftmamba::cli {

void add_compare_finetune_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "compare-finetune",
      "Train a base model, fine-tune it on shifted data in several variants (full / LoRA x precision), compare");
  struct Args {
    std::string variants, device = "auto";
    experiments::CompareFinetuneOptions options;
  };
  auto args = std::make_shared<Args>();
  auto& o = args->options;
  cmd->add_option("--base-data", o.base_data, "Dataset the base model trains on")->required();
  cmd->add_option("--data", o.data, "Dataset to fine-tune on (same schema, e.g. generate --drift)")->required();
  cmd->add_option("--out", o.out, "Report folder (runs go to OUT/runs)")->required();
  cmd->add_option("--variants", args->variants,
                  "Comma-separated MODE-PRECISION (full or lora; fp32, bf16, fp16, bf16-pure); full-fp32 is the "
                  "reference and must be among them. Default: full-fp32,full-bf16,lora-fp32,lora-bf16, plus "
                  "full-fp16,lora-fp16 on a GPU");
  cmd->add_option("--set", o.sets, "Config override for the base training and every fine-tuning (repeatable)");
  cmd->add_option("--base-set", o.base_sets, "Config override for the base training only (repeatable)");
  cmd->add_option("--lora.rank", o.lora_rank, "LoRA rank of the lora variants")->capture_default_str();
  cmd->add_option("--lora.alpha", o.lora_alpha, "LoRA alpha of the lora variants")->capture_default_str();
  cmd->add_option("--title", o.title, "Report title");
  add_device_option(cmd, args->device);
  add_threads_option(cmd, o.threads, "train.threads; every training and the evaluations");
  cmd->add_flag("--force", o.force, "Retrain runs that already finished with the same settings");
  cmd->callback([args] {
    auto o = args->options;
    apply_threads(o.threads);
    o.device = choose_device(args->device);
    for (const auto& name : split_list(args->variants)) {  // none: the defaults
      try {
        o.variants.push_back(train::parse_finetune_variant(name));
      } catch (const Error& e) {
        throw Error(std::string("--variants: ") + e.what());
      }
    }
    const auto result = experiments::run_compare_finetune(o);
    fmt::print("report written to {} (finetune.md, finetune.json, figures/finetune.svg; {:.0f} s)\n", o.out,
               result.seconds);
  });
}

}  // namespace ftmamba::cli
