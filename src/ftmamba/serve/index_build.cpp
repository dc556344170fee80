// defines: build_run_index and run_index_identity (see index_build.h).
#include "ftmamba/serve/index_build.h"

#include <algorithm>
#include <chrono>
#include <random>

#include "ftmamba/core/error.h"
#include "ftmamba/core/progress.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/io/json_file.h"
#include "ftmamba/io/sha256.h"
#include "ftmamba/run/weight_hashes.h"
#include "ftmamba/serve/recommender.h"

namespace ftmamba::serve {
namespace fs = std::filesystem;
namespace {

// The queries of the recall report: `n` user rows spread evenly over the users (every user when fewer).
std::vector<int64_t> query_rows(int64_t n_users, int64_t n) {
  std::vector<int64_t> rows;
  const int64_t count = std::min(n, n_users);
  for (int64_t i = 0; i < count; ++i) rows.push_back(i * n_users / count);
  return rows;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

IndexIdentity run_index_identity(const run::Run& run, int64_t dim) {
  IndexIdentity id;
  id.dim = dim;
  id.normalized = run.config.tower("user").l2_normalize && run.config.tower("item").l2_normalize;
  const nlohmann::json config = io::read_json_file(run.dir / "config.json");
  if (config.contains("sha256") && config["sha256"].is_object() && !config["sha256"].empty()) {
    id.weights = config["sha256"];
  } else {  // a run written before integrity records
    for (const auto& name : run::hashed_weight_files())
      if (fs::exists(run.dir / name)) id.weights[name] = io::sha256_file(run.dir / name);
  }
  if (run.finetune.is_object() && run.finetune.contains("base_model_sha256"))
    id.weights["base_model_sha256"] = run.finetune["base_model_sha256"];
  return id;
}

IndexBuildSummary build_run_index(const IndexBuildRequest& request, torch::Device device, const Log& log) {
  if (request.k < 1) throw Error("--k must be at least 1");
  if (request.queries < 1) throw Error("--queries must be at least 1");
  if (request.target_recall && !(*request.target_recall > 0 && *request.target_recall <= 1))
    throw Error("--target-recall must be in (0, 1]");
  IndexBuildSummary s;
  auto start = std::chrono::steady_clock::now();
  const auto recommender = Recommender::load(request.run_dir, request.data_dir, device);
  const auto items = recommender.item_embeddings().to(torch::kCPU).contiguous();  // (I, E)
  s.items = items.size(0);
  s.dim = items.size(1);
  const auto identity = run_index_identity(recommender.run(), s.dim);
  std::optional<ItemIndex> saved;
  if (request.reuse) {
    const auto dir = request.run_dir / kIndexDir;
    saved.emplace(ItemIndex::load(dir, identity));
    if (saved->rows() != s.items)
      throw Error(dir.string() + ": the index holds " + std::to_string(saved->rows()) + " items, the catalog " +
                  std::to_string(s.items) + "; build a new one (without --reuse) over this catalog");
  }
  // Checked before the users are encoded: a catalog too small for the type fails at once.
  const auto params = saved ? saved->params() : resolve_index_params(request.index, s.items, s.dim);
  const auto rows = query_rows(recommender.data().n_users(), request.queries);
  if (rows.empty()) throw Error("the data has no users to measure recall with");
  const auto queries = recommender.user_embeddings(rows).to(torch::kCPU).contiguous();  // (Q, E)
  s.queries = queries.size(0);
  s.k = std::min(request.k, s.items);
  s.encode_seconds = seconds_since(start);
  s.normalized = identity.normalized;

  ItemIndex index = saved ? std::move(*saved) : [&] {
    log("index: building a " + params.describe() + " index of " + std::to_string(s.items) + " items of dimension " +
        std::to_string(s.dim));
    ProgressBar bar("index", s.items, request.progress, ProgressBar::Output::kTerminalOrLog);
    const auto build_start = std::chrono::steady_clock::now();
    auto built =
        ItemIndex::build(items, params, identity, [&](int64_t done, int64_t) { bar.update_count(done, "items"); });
    s.build_seconds = seconds_since(build_start);
    bar.finish();
    return built;
  }();

  log("index: measuring recall@" + std::to_string(s.k) + " over " + std::to_string(s.queries) + " users' queries");
  const auto truth = exact_top_rows(queries, items, s.k);
  {
    const auto flat = params.type == IndexType::kFlat
                          ? std::optional<ItemIndex>()
                          : std::optional<ItemIndex>(ItemIndex::build(items, IndexParams{}, identity));
    s.exact = measure_recall(flat ? *flat : index, queries, s.k, truth);
    s.exact.index = "flat";
  }
  if (params.type != IndexType::kFlat) {
    s.sweep = recall_sweep(index, queries, s.k, truth);
    if (request.target_recall) {
      const auto reached = std::find_if(s.sweep.begin(), s.sweep.end(),
                                        [&](const RecallPoint& p) { return p.recall >= *request.target_recall; });
      s.target_reached = reached != s.sweep.end();
      index.set_search_value(s.target_reached ? reached->value : s.sweep.back().value);
    }
  }
  s.params = index.params();
  s.dir = request.run_dir / kIndexDir;
  index.save(s.dir);
  return s;
}

nlohmann::ordered_json to_json(const IndexBuildSummary& s) {
  nlohmann::ordered_json j;
  j["index"] = nlohmann::ordered_json(to_json(s.params));
  j["items"] = s.items;
  j["dim"] = s.dim;
  j["normalized"] = s.normalized;
  j["build_seconds"] = s.build_seconds;
  j["dir"] = s.dir.string();
  j["k"] = s.k;
  j["queries"] = s.queries;
  j["target_reached"] = s.target_reached;
  return j;
}

}  // namespace ftmamba::serve
