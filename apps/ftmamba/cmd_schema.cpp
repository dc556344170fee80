// defines: `ftmamba schema`, about a dataset's schema.toml; `schema infer` writes one from the three CSV files
// and prints, per column, the role it gave and why.
#include <fmt/format.h>
#include <fmt/ranges.h>  // fmt::join (moved here in fmt 11)

#include <algorithm>

#include "commands.h"
#include "ftmamba/core/enum_text.h"
#include "ftmamba/core/printable.h"
#include "ftmamba/data/schema_infer.h"

namespace ftmamba::cli {
namespace {

void print_decisions(const data::InferredSchema& inferred) {
  size_t file_width = 0, column_width = 0, role_width = 0;
  for (const auto& d : inferred.decisions) {
    file_width = std::max(file_width, d.file.size());
    column_width = std::max(column_width, printable(d.column).size());
    role_width = std::max(role_width, enum_name(d.role).size());
  }
  for (const auto& d : inferred.decisions)
    fmt::print("{:<{}}  {:<{}}  {:<{}}  {}\n", d.file, file_width, printable(d.column), column_width, enum_name(d.role),
               role_width, printable(d.reason));
}

}  // namespace

void add_schema_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("schema", "A dataset's schema.toml");
  cmd->require_subcommand(1);
  auto* infer = cmd->add_subcommand(
      "infer", "Write a schema.toml from users.csv, items.csv and interactions.csv, saying why for each column");
  struct Args {
    std::string data, out;
    bool force = false;
    int64_t sample = data::kDefaultSchemaSampleRows;
  };
  auto args = std::make_shared<Args>();
  infer->add_option("--data", args->data, "Dataset folder holding users.csv, items.csv and interactions.csv")
      ->required();
  infer->add_option("--out", args->out, "Where to write the schema (default: DATA/schema.toml)");
  infer->add_flag("--force", args->force, "Replace an existing file at --out");
  infer->add_option("--sample", args->sample, "Rows of each table to read for the decisions")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  infer->callback([args] {
    data::SchemaInferRequest request;
    request.data_dir = args->data;
    request.out = args->out;
    request.force = args->force;
    request.sample_rows = args->sample;
    const data::SchemaInferResult result = data::write_inferred_schema(request);
    print_decisions(result.inferred);
    if (!result.inferred.sampled_files.empty())
      fmt::print("decided from the first {} rows of each table; the rest of {} was not read\n",
                 result.inferred.sample_rows, fmt::join(result.inferred.sampled_files, ", "));
    fmt::print("wrote {}: check it and edit what is wrong{}\n", printable(result.written.string()),
               result.written == std::filesystem::path(args->data) / "schema.toml"
                   ? ""
                   : "; training reads " + printable((std::filesystem::path(args->data) / "schema.toml").string()));
  });
}

}  // namespace ftmamba::cli
