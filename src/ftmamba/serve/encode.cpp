// defines: write_embeddings.
#include "ftmamba/serve/encode.h"

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "ftmamba/core/error.h"
#include "ftmamba/core/threads.h"
#include "ftmamba/io/safetensors.h"
#include "ftmamba/nn/two_tower.h"
#include "ftmamba/run/run.h"

namespace ftmamba::serve {

EncodeSummary write_embeddings(const std::filesystem::path& run_dir, const std::filesystem::path& out,
                               const EncodeOptions& options, torch::Device device) {
  auto run = run::Run::load(run_dir, device);
  ops::cast_weights(*run.model, options.precision);
  ops::AutocastScope autocast(options.precision, device);
  set_cpu_threads(static_cast<int>(run.config.train.threads));
  const auto dataset = data::Dataset::load(options.data_dir.empty() ? run.data_dir : options.data_dir);
  const bool users = options.side == Side::kUser;
  const auto& table = users ? dataset.users : dataset.items;
  const auto& enc = users ? run.user_encoding : run.item_encoding;
  const auto inputs = enc.transform(table);
  auto& tower = users ? *run.model->user_tower : *run.model->item_tower;
  const auto emb = nn::encode_all(tower, inputs, run.config.eval.batch_size).to(torch::kCPU);  // (n, E)
  // A NaN or inf row is never written: the first such user or item is named instead.
  const auto finite = torch::isfinite(emb).all(1);  // (n)
  if (!finite.all().item<bool>()) {
    const int64_t row = finite.logical_not().nonzero()[0][0].item<int64_t>();
    const std::string side = enum_name(options.side);
    throw Error((users ? dataset.users_file : dataset.items_file).path.string() + ": " + side + " '" + table.ids[row] +
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
                                                   {"ids", nlohmann::json(table.ids).dump()},
                                                   {"numerical_names", nlohmann::json(enc.numerical_names).dump()},
                                                   {"categorical_names", nlohmann::json(enc.categorical_names).dump()}};
  io::save_safetensors(out, tensors, meta);
  return {emb.size(0), emb.size(1)};
}

}  // namespace ftmamba::serve
