// defines: `ftmamba merge`, which folds a LoRA run's adapters into its base weights and writes a standalone
// run folder (model.safetensors, no adapter file, no dependency on the base run).
#include <fmt/format.h>

#include <filesystem>

#include "commands.h"
#include "ftmamba/core/error.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/nn/lora.h"
#include "ftmamba/run/run.h"

namespace ftmamba::cli {
namespace fs = std::filesystem;

namespace {
// Largest |merged - unmerged| over the embeddings of up to 2048 users and items of the run's dataset: the
// merge's own check. Returns a negative value when the dataset folder is gone.
double merge_difference(run::Run& run, const std::function<void()>& merge) {
  if (!fs::exists(run.data_dir / "users.csv")) {
    merge();
    return -1;
  }
  auto data = run::prepare_data(run.data_dir, run.config, &run.user_encoding, &run.item_encoding);
  const auto head = [](const data::EncodedFeatures& f) {
    return f.index_select(torch::arange(std::min<int64_t>(f.size(), 2048)));
  };
  const auto users = head(data.users), items = head(data.items);
  const auto before_u = nn::encode_all(*run.model->user_tower, users, 1024);
  const auto before_i = nn::encode_all(*run.model->item_tower, items, 1024);
  merge();
  const auto du = (nn::encode_all(*run.model->user_tower, users, 1024) - before_u).abs().max().item<double>();
  const auto di = (nn::encode_all(*run.model->item_tower, items, 1024) - before_i).abs().max().item<double>();
  return std::max(du, di);
}
}  // namespace

void add_merge_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("merge", "Fold a LoRA run's adapters into the weights: a standalone run folder");
  struct Args {
    std::string run, out;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--run", args->run, "A LoRA run folder (from `ftmamba finetune`)")->required();
  cmd->add_option("--out", args->out, "Run folder to write (replaced if it exists)")->required();
  cmd->callback([args] {
    run::Run run = run::Run::load(args->run, torch::kCPU);
    if (!run.is_lora()) throw Error(args->run + " has no adapters to merge (it is not a LoRA run)");
    int64_t merged = 0;
    const double diff = merge_difference(run, [&] { merged = nn::merge_lora(*run.model); });

    io::StagedDir out(args->out);
    // Provenance stays in config.json; model.safetensors makes the run standalone (Run::load reads it first).
    run.finetune["merged_from"] = fs::absolute(args->run).lexically_normal().string();
    run.finetune["mode"] = "lora-merged";
    io::write_file_atomic(out.path() / "config.json", run.config_json().dump(2) + "\n");
    run::save_model(out.path() / "model.safetensors", *run.model, {{"format", "pt"}});
    // The evaluation record and the stored negatives stay valid: the merged model scores as the unmerged one.
    for (const char* name : {"metrics.json", "history.jsonl", "sampled_negatives.safetensors"})
      if (fs::exists(fs::path(args->run) / name)) fs::copy_file(fs::path(args->run) / name, out.path() / name);
    out.commit();
    fmt::print("merged {} adapters into {}{}\n", merged, args->out,
               diff < 0 ? " (dataset folder gone: outputs not compared)"
                        : fmt::format("; max |merged - unmerged| embedding difference {:.2e}", diff));
  });
}

}  // namespace ftmamba::cli
