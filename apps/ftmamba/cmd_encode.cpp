// defines: `ftmamba encode`, which writes every user's or item's embedding (and optionally the exact
// encoder inputs) to a safetensors file, rows in the order of users.csv / items.csv.
#include <fmt/format.h>

#include "cli_device.h"
#include "cli_precision.h"
#include "commands.h"
#include "ftmamba/core/error.h"
#include "ftmamba/core/threads.h"
#include "ftmamba/io/safetensors.h"
#include "ftmamba/ops/precision.h"
#include "ftmamba/run/run.h"

namespace ftmamba::cli {

void add_encode_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("encode", "Write user or item embeddings to a safetensors file");
  struct Args {
    std::string run, data, side, out, device = "auto", precision = "fp32";
    bool with_inputs = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--run", args->run, "Run folder")->required();
  cmd->add_option("--side", args->side, "user or item")->required()->check(CLI::IsMember({"user", "item"}));
  cmd->add_option("--out", args->out, "Output .safetensors file")->required();
  cmd->add_option("--data", args->data, "Dataset folder (default: the one the run was trained on)");
  add_device_option(cmd, args->device);
  add_precision_option(cmd, args->precision, " (default fp32)");
  cmd->add_flag("--with-inputs", args->with_inputs, "Also write the encoder inputs: numerical, missing, categorical");
  cmd->callback([args] {
    const torch::Device device = choose_device(args->device);
    auto run = run::Run::load(args->run, device);
    // The tower in the chosen precision: autocast, or bf16 weights for bf16-pure.
    const ops::Precision precision = parse_enum<ops::Precision>(args->precision);
    ops::cast_weights(*run.model, precision);
    ops::AutocastScope autocast(precision, device);
    set_cpu_threads(static_cast<int>(run.config.train.threads));
    auto dataset = data::Dataset::load(args->data.empty() ? run.data_dir : std::filesystem::path(args->data));
    const bool users = args->side == "user";
    const auto& table = users ? dataset.users : dataset.items;
    const auto& enc = users ? run.user_encoding : run.item_encoding;
    auto inputs = enc.transform(table);
    auto& tower = users ? *run.model->user_tower : *run.model->item_tower;
    auto emb = nn::encode_all(tower, inputs, run.config.eval.batch_size).to(torch::kCPU);  // (n, E)

    io::NamedTensors tensors = {{"embeddings", emb}};
    if (args->with_inputs) {
      tensors.emplace_back("numerical", inputs.numerical);
      tensors.emplace_back("missing", inputs.missing);
      tensors.emplace_back("categorical", inputs.categorical);
    }
    std::map<std::string, std::string> meta = {{"side", args->side},
                                               {"ids", nlohmann::json(table.ids).dump()},
                                               {"numerical_names", nlohmann::json(enc.numerical_names).dump()},
                                               {"categorical_names", nlohmann::json(enc.categorical_names).dump()}};
    io::save_safetensors(args->out, tensors, meta);
    fmt::print("wrote {} {} embeddings of size {} to {}\n", emb.size(0), args->side, emb.size(1), args->out);
  });
}

}  // namespace ftmamba::cli
