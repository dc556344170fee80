// defines: merge_lora_run, which folds a LoRA run's adapters into its base weights and writes a standalone run
// folder (model.safetensors, no adapter file, no dependency on the base run), keeping its evaluation record.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>

namespace ftmamba::run {

struct MergeResult {
  int64_t merged = 0;  // adapters folded into their weights
  // Largest |merged - unmerged| over the embeddings of up to 2048 users and items of the run's dataset: the
  // merge's own check. None when the dataset folder is gone.
  std::optional<double> max_difference;
};

// config.json keeps the provenance (finetune.mode "lora-merged", finetune.merged_from); metrics.json,
// history.jsonl and sampled_negatives.safetensors are copied, since the merged model scores as the unmerged one.
// Throws Error when run_dir is not a LoRA run, before anything is written at out_dir; an existing folder there is
// replaced.
// out_dir is written through io::StagedDir: an existing run there is replaced only with `force`.
MergeResult merge_lora_run(const std::filesystem::path& run_dir, const std::filesystem::path& out_dir,
                           bool force = false);

}  // namespace ftmamba::run
