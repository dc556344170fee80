// defines: merge_lora_run (see merge_lora.h).
#include "ftmamba/run/merge_lora.h"

#include <functional>

#include "ftmamba/core/error.h"
#include "ftmamba/data/table_file.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/io/staged_dir.h"
#include "ftmamba/nn/lora.h"
#include "ftmamba/run/inference_data.h"
#include "ftmamba/run/run.h"
#include "ftmamba/run/weight_hashes.h"

namespace ftmamba::run {
namespace fs = std::filesystem;

namespace {
// Runs `merge` between two encodings of the same users and items, and returns how far they lie apart.
std::optional<double> merge_difference(Run& run, const std::function<void()>& merge) {
  if (data::existing_table_files(run.data_dir, "users").empty()) {
    merge();
    return std::nullopt;
  }
  const auto data = prepare_data(run.data_dir, run.config, &run.user_encoding, &run.item_encoding);
  const auto head = [](const data::EncodedFeatures& f) {
    return f.index_select(torch::arange(std::min<int64_t>(f.size(), 2048)));
  };
  const auto users = head(data.users), items = head(data.items);
  const auto before_u = nn::encode_all(*run.model->user_tower, users, 1024);  // (n_users, E)
  const auto before_i = nn::encode_all(*run.model->item_tower, items, 1024);  // (n_items, E)
  merge();
  const auto du = (nn::encode_all(*run.model->user_tower, users, 1024) - before_u).abs().max().item<double>();
  const auto di = (nn::encode_all(*run.model->item_tower, items, 1024) - before_i).abs().max().item<double>();
  return std::max(du, di);
}
}  // namespace

MergeResult merge_lora_run(const fs::path& run_dir, const fs::path& out_dir, bool force) {
  const io::OutputPolicy policy{.kind = io::OutputKind::kRun, .force = force, .resume = false, .inputs = {run_dir}};
  io::StagedDir::check(out_dir, policy);
  Run run = Run::load(run_dir, torch::kCPU);
  if (!run.is_lora()) throw Error(run_dir.string() + " has no adapters to merge (it is not a LoRA run)");
  MergeResult result;
  result.max_difference = merge_difference(run, [&] { result.merged = nn::merge_lora(*run.model); });

  io::StagedDir out(out_dir, policy);
  // Provenance stays in config.json; model.safetensors makes the run standalone (Run::load reads it first).
  run.finetune["merged_from"] = fs::absolute(run_dir).lexically_normal().string();
  run.finetune["mode"] = "lora-merged";
  io::write_file_atomic(out.path() / "config.json", run.config_json().dump(2) + "\n");
  save_model(out.path() / "model.safetensors", *run.model, {{"format", "pt"}});
  record_weight_hashes(out.path());
  // The evaluation record, the stored negatives and the stored users and items stay valid: the merged model scores as
  // the unmerged one.
  for (const char* name : {"metrics.json", "history.jsonl", "sampled_negatives.safetensors", kInferenceFile})
    if (fs::exists(run_dir / name)) fs::copy_file(run_dir / name, out.path() / name);
  out.commit();
  return result;
}

}  // namespace ftmamba::run
