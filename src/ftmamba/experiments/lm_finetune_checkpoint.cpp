// defines: save / load of LmFinetuneCheckpoint (see lm_finetune_checkpoint.h).
#include "ftmamba/experiments/lm_finetune_checkpoint.h"

#include <map>

#include "ftmamba/core/error.h"

namespace ftmamba::experiments {
namespace fs = std::filesystem;

namespace {

constexpr const char* kFormat = "ftmamba-lm-finetune-checkpoint-1";

}  // namespace

fs::path lm_finetune_checkpoint_file(const fs::path& checkpoint_dir) { return checkpoint_dir / "lm_state.safetensors"; }

bool has_lm_finetune_checkpoint(const fs::path& checkpoint_dir) {
  return fs::is_regular_file(lm_finetune_checkpoint_file(checkpoint_dir));
}

void save_lm_finetune_checkpoint(const fs::path& checkpoint_dir, const LmFinetuneCheckpoint& c) {
  nlohmann::ordered_json j = {{"format", kFormat},    {"settings", c.settings},     {"epoch", c.epoch},
                              {"step", c.step},       {"steps", c.steps},           {"tokens_seen", c.tokens_seen},
                              {"seconds", c.seconds}, {"epoch_loss", c.epoch_loss}, {"first_loss", c.first_loss},
                              {"log", c.log}};
  io::NamedTensors tensors = c.tensors;
  tensors.emplace_back("order_rng", c.order_rng);
  if (c.order.defined()) tensors.emplace_back("order", c.order);
  fs::create_directories(checkpoint_dir);
  io::save_safetensors(lm_finetune_checkpoint_file(checkpoint_dir), tensors, {{"lm_finetune", j.dump()}});
}

LmFinetuneCheckpoint load_lm_finetune_checkpoint(const fs::path& checkpoint_dir) {
  const fs::path file = lm_finetune_checkpoint_file(checkpoint_dir);
  if (!fs::is_regular_file(file)) throw Error(file.string() + ": no checkpoint to resume from");
  std::map<std::string, std::string> meta;
  auto tensors = io::load_safetensors(file, &meta);
  LmFinetuneCheckpoint c;
  try {
    const auto j = nlohmann::ordered_json::parse(meta.at("lm_finetune"));
    if (j.at("format") != kFormat) throw Error(file.string() + ": unknown checkpoint format");
    c.settings = j.at("settings");
    c.epoch = j.at("epoch");
    c.step = j.at("step");
    c.steps = j.at("steps");
    c.tokens_seen = j.at("tokens_seen");
    c.seconds = j.at("seconds");
    c.epoch_loss = j.at("epoch_loss");
    c.first_loss = j.at("first_loss");
    c.log = j.at("log");
    c.order_rng = tensors.at("order_rng");
    if (c.step > 0) c.order = tensors.at("order");
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(file.string() + ": malformed checkpoint (" + e.what() + ")");
  }
  for (auto& [name, t] : tensors)
    if (name != "order" && name != "order_rng") c.tensors.emplace_back(name, t);
  return c;
}

}  // namespace ftmamba::experiments
