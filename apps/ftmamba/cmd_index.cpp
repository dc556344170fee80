// defines: `ftmamba index`, which builds the approximate-nearest-neighbour item index of a trained run
// (FAISS: flat, hnsw, ivf, ivfpq) in RUN/index/, and prints its recall@k against exact search with the latency
// of one query over a sweep of its search parameter.
#include <fmt/format.h>

#include "cli_checks.h"
#include "cli_device.h"
#include "cli_threads.h"
#include "commands.h"
#include "ftmamba/core/printable.h"
#include "ftmamba/serve/index_build.h"

namespace ftmamba::cli {
namespace {

// The largest --k and --queries: a report, not a workload.
constexpr int64_t kMostRecallK = 10000;
constexpr int64_t kMaxQueries = 1000000;

std::string recall_row(const serve::RecallPoint& p, int64_t chosen) {
  const std::string value = p.parameter.empty() ? "-" : std::to_string(p.value) + (p.value == chosen ? " *" : "");
  return fmt::format("  {:<6} {:>10} {:>10.4f} {:>10.3f}\n", p.index, value, p.recall, p.ms_per_query);
}

void print_table(const serve::IndexBuildSummary& s) {
  fmt::print("index: {} over {} items of dimension {} ({})\n", s.params.describe(), s.items, s.dim,
             s.normalized ? "unit length: inner product = cosine" : "not normalised: inner product");
  fmt::print("built in {:.2f} s; saved to {}\n", s.build_seconds, printable(s.dir.string()));
  fmt::print("recall@{} against exact search, {} users' embeddings as queries, one query at a time:\n", s.k, s.queries);
  const std::string parameter = s.params.search_name().empty() ? "param" : s.params.search_name();
  fmt::print("  {:<6} {:>10} {:>10} {:>10}\n", "index", parameter, "recall", "ms/query");
  fmt::print("{}", recall_row(s.exact, 0));
  for (const auto& p : s.sweep) fmt::print("{}", recall_row(p, s.params.search_value()));
  if (!s.sweep.empty()) fmt::print("(* the {} saved with the index)\n", s.params.search_name());
  if (!s.target_reached)
    fmt::print("no {} swept reached the target recall; the index keeps the largest, {}\n", s.params.search_name(),
               s.params.search_value());
}

}  // namespace

void add_index_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "index", "Build a run's approximate nearest-neighbour item index (FAISS) and report its recall and latency");
  struct Args {
    std::string run, data, type = "hnsw", device = "auto";
    std::optional<int64_t> m, ef_construction, ef_search, nlist, nprobe, pq_m, pq_bits, threads;
    std::optional<double> target_recall;
    int64_t k = 100, queries = 1000;
    bool json = false, reuse = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--run", args->run, "Run folder (the index is written to RUN/index/)")->required();
  check_choice(cmd->add_option("--type", args->type, "Index type")->capture_default_str(),
               enum_names<serve::IndexType>());
  const auto int_option = [&](const char* name, std::optional<int64_t>& value, const char* help, int64_t min) {
    check_int_range(cmd->add_option_function<int64_t>(
                        name, [&value](const int64_t& v) { value = v; }, help),
                    min, 1 << 20);
  };
  int_option("--M", args->m, "hnsw: neighbours per node (default 32)", 2);
  int_option("--ef-construction", args->ef_construction, "hnsw: candidates while building (default 100)", 1);
  int_option("--ef-search", args->ef_search, "hnsw: candidates while searching (default 64)", 1);
  int_option("--nlist", args->nlist, "ivf, ivfpq: lists (default about 4 sqrt(items), at most items / 39)", 1);
  int_option("--nprobe", args->nprobe, "ivf, ivfpq: lists searched (default nlist / 16)", 1);
  int_option("--pq-m", args->pq_m, "ivfpq: sub-quantizers, a divisor of the embedding size (default about dim / 4)", 1);
  int_option("--pq-bits", args->pq_bits, "ivfpq: bits per sub-quantizer code (default 8, fewer for a small catalog)",
             1);
  check_int_range(cmd->add_option("--k", args->k, "recall@k of the report")->capture_default_str(), 1, kMostRecallK);
  check_int_range(
      cmd->add_option("--queries", args->queries, "Users sampled as the report's queries")->capture_default_str(), 1,
      kMaxQueries);
  auto* target = cmd->add_option_function<double>(
      "--target-recall", [args](const double& r) { args->target_recall = r; },
      "Save the smallest swept efSearch / nprobe whose recall reaches this (0 < R <= 1)");
  target->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--data", args->data,
                  "Dataset folder whose items are indexed (default: the items stored in the run, or the dataset it "
                  "was trained on)");
  cmd->add_flag("--json", args->json, "Print JSON lines: one per recall point, then the summary");
  cmd->add_flag("--reuse", args->reuse,
                "Measure the run's saved index again and re-tune its search value (with --target-recall) instead of "
                "building one; the type and build options are ignored");
  add_device_option(cmd, args->device);
  add_threads_option(cmd, args->threads, "the run's train.threads");
  cmd->callback([args] {
    apply_threads(args->threads);
    serve::IndexBuildRequest request;
    request.run_dir = args->run;
    request.data_dir = args->data;
    request.index.type = parse_enum<serve::IndexType>(args->type);
    request.index.hnsw_m = args->m;
    request.index.ef_construction = args->ef_construction;
    request.index.ef_search = args->ef_search;
    request.index.nlist = args->nlist;
    request.index.nprobe = args->nprobe;
    request.index.pq_m = args->pq_m;
    request.index.pq_bits = args->pq_bits;
    request.k = args->k;
    request.queries = args->queries;
    request.target_recall = args->target_recall;
    request.progress = true;
    request.reuse = args->reuse;
    const auto s = serve::build_run_index(request, choose_device(args->device), log_to_stderr);
    if (!args->json) {
      print_table(s);
      return;
    }
    fmt::print("{}\n", serve::to_json(s.exact).dump());
    for (const auto& p : s.sweep) fmt::print("{}\n", serve::to_json(p).dump());
    fmt::print("{}\n", serve::to_json(s).dump());
  });
}

}  // namespace ftmamba::cli
