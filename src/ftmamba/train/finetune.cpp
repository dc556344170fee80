// defines: FinetuneVariant and prepare_finetune (see finetune.h).
#include "ftmamba/train/finetune.h"

#include <algorithm>
#include <stdexcept>

#include "ftmamba/core/error.h"
#include "ftmamba/ops/precision.h"
#include "ftmamba/run/adapters.h"
#include "ftmamba/run/config.h"

namespace ftmamba::train {
namespace fs = std::filesystem;

std::string FinetuneVariant::name() const { return std::string(lora ? "lora-" : "full-") + precision_name(); }

FinetuneVariant parse_finetune_variant(const std::string& name) {
  const auto dash = name.find('-');
  const std::string mode = name.substr(0, dash);
  if (dash == std::string::npos || (mode != "full" && mode != "lora"))
    throw Error("'" + name + "' is not a fine-tuning variant MODE-PRECISION (MODE full or lora, e.g. lora-bf16)");
  FinetuneVariant v;
  v.lora = mode == "lora";
  v.precision = parse_enum<ops::Precision>(name.substr(dash + 1));  // throws, naming the precisions
  return v;
}

FinetunePlan prepare_finetune(nn::TwoTower& model, const run::RunConfig& cfg, const run::FinetuneOptions& options) {
  FinetunePlan plan;
  if (options.full) {
    for (auto& p : model->parameters()) p.set_requires_grad(true);
    plan.parameters = nn::count_parameters(*model);
    return plan;
  }
  if (options.lora.rank < 1) throw Error("lora.rank must be >= 1");
  if (options.lora.alpha <= 0) throw Error("lora.alpha must be > 0");
  if (options.lora.dropout < 0 || options.lora.dropout >= 1) throw Error("lora.dropout must be in [0, 1)");
  const auto targets = options.targets.empty() ? run::default_lora_targets(cfg) : options.targets;
  try {
    plan.adapted = nn::attach_lora(*model, options.lora, targets);
  } catch (const std::invalid_argument& e) {
    throw Error(e.what());
  }
  plan.parameters = nn::freeze_all_but_adapters(*model, options.train_extra);
  for (const auto& extra : options.train_extra) {
    bool used = false;
    for (const auto& p : model->named_parameters()) used = used || nn::lora_target_matches(extra, p.key());
    if (!used) throw Error("lora.train-extra '" + extra + "' matches no parameter of the model");
  }
  return plan;
}

}  // namespace ftmamba::train
