// ftmamba command-line entry point: registers the subcommands and reports any error on one line,
// "ftmamba: error: ...", with its control characters escaped: exit code 2 for a usage error (an unknown
// command or option, with the nearest known name; a missing or malformed argument), 1 for a failure while running.
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "cli_checks.h"
#include "cli_usage.h"
#include "commands.h"
#include "ftmamba/core/error.h"
#include "ftmamba/core/interrupt.h"
#include "ftmamba/core/memory.h"
#include "ftmamba/core/printable.h"

namespace {

constexpr int kUsageError = 2;
constexpr int kRuntimeError = 1;

int report_error(std::string_view what, int code) {
  std::fprintf(stderr, "ftmamba: error: %s\n", ftmamba::printable(what).c_str());
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  ftmamba::install_interrupt_handling();  // first, so that a signal during the start is handled too
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
  ftmamba::cli::add_serve_command(app);
  ftmamba::cli::add_encode_command(app);
  ftmamba::cli::add_index_command(app);
  ftmamba::cli::add_compare_command(app);
  ftmamba::cli::add_compare_finetune_command(app);
  ftmamba::cli::add_bench_command(app);
  ftmamba::cli::add_analyze_command(app);
  ftmamba::cli::add_lm_command(app);
  ftmamba::cli::add_import_command(app);
  ftmamba::cli::add_schema_command(app);
  try {
    app.parse(argc, argv);
  } catch (const ftmamba::cli::UsageError& e) {  // a value our checks refused: the message is complete
    return report_error(e.what(), kUsageError);
  } catch (const CLI::ParseError& e) {
    // --help and --version arrive as ParseErrors whose exit code is 0: CLI11 prints them.
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    return report_error(
        ftmamba::cli::explain_usage_error(app, std::vector<std::string>(argv + 1, argv + argc), e.what()), kUsageError);
  } catch (const ftmamba::Interrupted& e) {
    std::fprintf(stderr, "ftmamba: %s\n", ftmamba::printable(e.what()).c_str());
    return e.exit_code();
  } catch (const ftmamba::Error& e) {
    return report_error(e.what(), kRuntimeError);
  } catch (const c10::Error& e) {
    return report_error(e.what_without_backtrace(), kRuntimeError);
  } catch (const std::exception& e) {
    return report_error(e.what(), kRuntimeError);
  }
  return 0;
}
