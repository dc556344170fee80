// defines: LmFinetuneCheckpoint, where an `lm finetune` run stands, so that --resume continues it exactly: the
// position (epoch, step, the epoch's data order), the losses, log and timing so far, the trained parameters, the
// optimizer's moments, the fp16 loss scaler and every random generator (the data order's, LibTorch's for the
// adapters' dropout). One file, RUN.partial/checkpoint/lm_state.safetensors, the scalars as JSON in its metadata,
// written atomically: a kill at any moment leaves the previous checkpoint or the new one.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "ftmamba/io/safetensors.h"

namespace ftmamba::experiments {

struct LmFinetuneCheckpoint {
  nlohmann::ordered_json settings;  // what was run (model, data and its SHA-256, options): resume only the same run
  int64_t epoch = 0, step = 0;      // 0-based epoch, and the steps of it done (0: its order is not drawn yet)
  int64_t steps = 0, tokens_seen = 0;
  double seconds = 0, epoch_loss = 0, first_loss = 0;
  std::string log;           // train_log.jsonl so far
  torch::Tensor order;       // (examples) int64, the epoch's order (when step > 0)
  torch::Tensor order_rng;   // the data order generator's state
  io::NamedTensors tensors;  // "param/<name>", "optimizer/...", "scaler/...", "rng/..."
};

// The file inside a checkpoint folder: checkpoint_dir/lm_state.safetensors.
std::filesystem::path lm_finetune_checkpoint_file(const std::filesystem::path& checkpoint_dir);
// Writes it atomically.
void save_lm_finetune_checkpoint(const std::filesystem::path& checkpoint_dir, const LmFinetuneCheckpoint& checkpoint);
// Throws Error naming the file for a missing or malformed checkpoint.
LmFinetuneCheckpoint load_lm_finetune_checkpoint(const std::filesystem::path& checkpoint_dir);
// Whether checkpoint_dir holds one.
bool has_lm_finetune_checkpoint(const std::filesystem::path& checkpoint_dir);

}  // namespace ftmamba::experiments
