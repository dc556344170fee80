// defines: `ftmamba encode`, which writes every user's or item's embedding (and optionally the exact
// encoder inputs) to a safetensors file, rows in the order of users.csv / items.csv.
#include <fmt/format.h>

#include "cli_device.h"
#include "cli_precision.h"
#include "cli_threads.h"
#include "commands.h"
#include "ftmamba/core/printable.h"
#include "ftmamba/serve/encode.h"

namespace ftmamba::cli {

void add_encode_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("encode", "Write user or item embeddings to a safetensors file");
  struct Args {
    std::string run, data, side, out, device = "auto", precision = "fp32";
    bool with_inputs = false;
    std::optional<int64_t> threads;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--run", args->run, "Run folder")->required();
  check_choice(cmd->add_option("--side", args->side, "Which tower's embeddings")->required(), {"user", "item"});
  cmd->add_option("--out", args->out, "Output .safetensors file")->required();
  cmd->add_option("--data", args->data,
                  "Dataset folder (default: the users and items stored in the run, or the dataset it was trained on)");
  add_device_option(cmd, args->device);
  add_precision_option(cmd, args->precision, " (default fp32)");
  add_threads_option(cmd, args->threads, "the run's train.threads");
  cmd->add_flag("--with-inputs", args->with_inputs, "Also write the encoder inputs: numerical, missing, categorical");
  cmd->callback([args] {
    apply_threads(args->threads);
    serve::EncodeOptions options;
    options.side = parse_enum<serve::Side>(args->side);
    options.data_dir = args->data;
    options.precision = parse_enum<ops::Precision>(args->precision);
    options.with_inputs = args->with_inputs;
    const auto written = serve::write_embeddings(args->run, args->out, options, choose_device(args->device));
    fmt::print("wrote {} {} embeddings of size {} to {}\n", written.rows, args->side, written.dim,
               printable(args->out));
  });
}

}  // namespace ftmamba::cli
