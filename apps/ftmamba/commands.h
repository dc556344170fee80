// defines: one add_*_command per subcommand; each registers its options and its action on the CLI app.
#pragma once
#include <CLI/CLI.hpp>

namespace ftmamba::cli {

void add_generate_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_recommend_command(CLI::App& app);
void add_serve_command(CLI::App& app);
void add_encode_command(CLI::App& app);
void add_index_command(CLI::App& app);
void add_compare_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_import_command(CLI::App& app);
void add_finetune_command(CLI::App& app);
void add_merge_command(CLI::App& app);
void add_compare_finetune_command(CLI::App& app);
void add_analyze_command(CLI::App& app);
void add_lm_command(CLI::App& app);
void add_schema_command(CLI::App& app);
// `bench finetune`, added under `bench` by add_bench_command.
void add_bench_finetune_subcommand(CLI::App* bench);

}  // namespace ftmamba::cli
