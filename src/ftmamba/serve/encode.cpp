// defines: write_embeddings.
#include "ftmamba/serve/encode.h"

#include <algorithm>
#include <array>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ftmamba/core/error.h"
#include "ftmamba/core/threads.h"
#include "ftmamba/data/table_file.h"
#include "ftmamba/io/safetensors.h"
#include "ftmamba/nn/two_tower.h"
#include "ftmamba/run/inference_data.h"
#include "ftmamba/run/run.h"

namespace ftmamba::serve {
namespace {
namespace fs = std::filesystem;

// The files a run folder and a dataset folder consist of: what encode reads, and the records beside them.
// The dataset's tables also go by their other names (data::table_file_names: .tsv, .csv.gz, .tsv.gz).
constexpr std::array<const char*, 14> kInputFiles = {"config.json",
                                                     "model.safetensors",
                                                     "adapters.safetensors",
                                                     "adapter_config.json",
                                                     "sampled_negatives.safetensors",
                                                     "history.jsonl",
                                                     "metrics.json",
                                                     "schema.toml",
                                                     "users.csv",
                                                     "items.csv",
                                                     "interactions.csv",
                                                     "dataset.json",
                                                     "oracle.safetensors",
                                                     "inference.safetensors"};

// --out may be any new file, or an earlier output anywhere, but never a file of a folder this command reads (the
// run, a LoRA run's base, the dataset): writing there would replace the weights or data it was made from.
void check_not_an_input(const fs::path& out, const std::vector<fs::path>& inputs) {
  // The folders' links resolved, not a link at the end: write_file_atomic replaces a link, not its target.
  const fs::path abs = fs::absolute(out).lexically_normal();
  const fs::path folder = fs::weakly_canonical(abs.parent_path());
  const std::string name = abs.filename().string();
  bool input_name = std::find(kInputFiles.begin(), kInputFiles.end(), name) != kInputFiles.end();
  for (const char* table : {"users", "items", "interactions"})
    for (const auto& n : data::table_file_names(table)) input_name = input_name || n == name;
  if (!input_name) return;
  for (const auto& dir : inputs)
    if (!dir.empty() && folder == fs::weakly_canonical(fs::absolute(dir)))
      throw Error("--out " + out.string() + " is a file of the input folder " + dir.string() +
                  "; choose another file, as writing there would replace it");
}

}  // namespace

EncodeSummary write_embeddings(const std::filesystem::path& run_dir, const std::filesystem::path& out,
                               const EncodeOptions& options, torch::Device device) {
  auto run = run::Run::load(run_dir, device);
  ops::cast_weights(*run.model, options.precision);
  ops::AutocastScope autocast(options.precision, device);
  set_cpu_threads(static_cast<int>(run.config.train.threads));
  const fs::path data_dir = options.data_dir.empty() ? run.data_dir : options.data_dir;
  check_not_an_input(out, {run.dir, data_dir, run.is_lora() ? fs::path(run.finetune.value("base_run", "")) : ""});
  const auto data = run::inference_data_for(run, options.data_dir);
  const bool users = options.side == Side::kUser;
  const auto& ids = users ? data.user_ids : data.item_ids;
  const auto& enc = users ? run.user_encoding : run.item_encoding;
  const auto& inputs = users ? data.users : data.items;
  auto& tower = users ? *run.model->user_tower : *run.model->item_tower;
  const auto emb = nn::encode_all(tower, inputs, run.config.eval.batch_size).to(torch::kCPU);  // (n, E)
  // A NaN or inf row is never written: the first such user or item is named instead.
  const auto finite = torch::isfinite(emb).all(1);  // (n)
  if (!finite.all().item<bool>()) {
    const int64_t row = finite.logical_not().nonzero()[0][0].item<int64_t>();
    const std::string side = enum_name(options.side);
    throw Error((users ? data.users_source : data.items_source).string() + ": " + side + " '" + ids[row] +
                "': the run's " + side + " tower gives it a non-finite embedding; " + out.string() +
                " was not written");
  }

  io::NamedTensors tensors = {{"embeddings", emb}};
  if (options.with_inputs) {
    tensors.emplace_back("numerical", inputs.numerical);
    tensors.emplace_back("missing", inputs.missing);
    tensors.emplace_back("categorical", inputs.categorical);
  }
  const std::map<std::string, std::string> meta = {{"side", enum_name(options.side)},
                                                   {"ids", nlohmann::json(ids).dump()},
                                                   {"numerical_names", nlohmann::json(enc.numerical_names).dump()},
                                                   {"categorical_names", nlohmann::json(enc.categorical_names).dump()}};
  io::save_safetensors(out, tensors, meta);
  return {emb.size(0), emb.size(1)};
}

}  // namespace ftmamba::serve
