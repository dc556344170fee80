// ftmamba command-line entry point: registers the subcommands and reports any user error on one line.
#include <cstdio>
#include <exception>

#include "commands.h"
#include "ftmamba/core/error.h"
#include "ftmamba/core/interrupt.h"
#include "ftmamba/core/memory.h"

int main(int argc, char** argv) {
  ftmamba::install_interrupt_handling();  // first: every thread started later inherits the blocked signals
  ftmamba::keep_memory_resident();
  CLI::App app{"ftmamba: two-tower recommenders on tabular data with FT-Mamba towers"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "ftmamba 0.1.0");
  ftmamba::cli::add_generate_command(app);
  ftmamba::cli::add_train_command(app);
  ftmamba::cli::add_finetune_command(app);
  ftmamba::cli::add_merge_command(app);
  ftmamba::cli::add_eval_command(app);
  ftmamba::cli::add_recommend_command(app);
  ftmamba::cli::add_encode_command(app);
  ftmamba::cli::add_compare_command(app);
  ftmamba::cli::add_compare_finetune_command(app);
  ftmamba::cli::add_bench_command(app);
  ftmamba::cli::add_analyze_command(app);
  ftmamba::cli::add_import_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const ftmamba::Interrupted& e) {
    std::fprintf(stderr, "ftmamba: %s\n", e.what());
    return e.exit_code();
  } catch (const ftmamba::Error& e) {
    std::fprintf(stderr, "ftmamba: error: %s\n", e.what());
    return 1;
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "ftmamba: error: %s\n", e.what_without_backtrace());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ftmamba: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
