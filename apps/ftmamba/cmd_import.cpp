// defines: `ftmamba import`, which turns a real dataset's files into a dataset folder; `import hm` reads
// the H&M Personalized Fashion Recommendations Kaggle files.
#include <fmt/format.h>

#include <limits>

#include "cli_checks.h"
#include "cli_output.h"
#include "commands.h"
#include "ftmamba/data/loaders/hm_kaggle.h"

namespace ftmamba::cli {

void add_import_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("import", "Import a real dataset's files into a dataset folder");
  cmd->require_subcommand(1);
  auto* hm = cmd->add_subcommand(
      "hm", "H&M Personalized Fashion Recommendations (Kaggle): articles.csv, customers.csv, transactions_train.csv");
  struct Args {
    std::string from, out;
    int64_t pairs = 160000, min_per_user = 3;
    uint64_t seed = 1;
    bool quiet = false, force = false;
  };
  auto args = std::make_shared<Args>();
  hm->add_option("--from", args->from, "Folder holding the three Kaggle CSV files")->required();
  check_int_range(hm->add_option("--pairs", args->pairs, "Distinct (customer, article) pairs to keep, exactly")
                      ->capture_default_str(),
                  1, std::numeric_limits<int64_t>::max());
  hm->add_option("--seed", args->seed, "Random seed (picks the customers)")->capture_default_str();
  hm->add_option("--out", args->out, "Output dataset folder (new, empty, or a dataset to replace with --force)")
      ->required();
  add_force_flag(hm, args->force, "dataset");
  check_int_range(
      hm->add_option("--min-per-user", args->min_per_user, "Fewest pairs a kept customer has")->capture_default_str(),
      1, std::numeric_limits<int64_t>::max());
  hm->add_flag("--quiet", args->quiet, "No progress display");
  hm->footer("Sampling (shown for --min-per-user 3): " + data::hm_sampling_method(3) +
             "\nThe transactions file is streamed (read twice, rarely more); memory grows with the number of "
             "customers and --pairs, not with the file.");
  hm->callback([args] {
    data::HmImportOptions o;
    o.from = args->from;
    o.out = args->out;
    o.force = args->force;
    o.pairs = args->pairs;
    o.seed = args->seed;
    o.min_per_user = args->min_per_user;
    o.progress = !args->quiet;
    const data::HmImportSummary s = data::import_hm(o);
    fmt::print("wrote {}: {} customers, {} articles, {} pairs, {} to {} (from {} transactions, seed {}) in {:.1f} s\n",
               args->out, s.customers, s.articles, s.pairs, s.first_date, s.last_date, s.source_transactions,
               args->seed, s.seconds);
  });
}

}  // namespace ftmamba::cli
