// defines: analyze_run_stability (see run_stability.h).
#include "ftmamba/eval/run_stability.h"

#include <fmt/format.h>

#include <algorithm>

#include "ftmamba/core/enum_text.h"
#include "ftmamba/core/error.h"
#include "ftmamba/core/provenance.h"
#include "ftmamba/eval/stability.h"
#include "ftmamba/eval/stability_report.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/run/run.h"

namespace ftmamba::eval {
namespace fs = std::filesystem;

RunStabilityResult analyze_run_stability(const RunStabilityOptions& o, const TowerStabilitySink& on_tower,
                                         const Log& log) {
  if (o.rows < 1) throw Error("--rows must be >= 1");
  auto run = run::Run::load(o.run, o.device);
  const fs::path data_dir = o.data.empty() ? run.data_dir : fs::path(o.data);
  auto data = run::prepare_data(data_dir, run.config, &run.user_encoding, &run.item_encoding);
  StabilityOptions options;
  options.seed = o.seed;

  nlohmann::ordered_json report;
  report["run"] = o.run;
  report["data"] = data_dir.string();
  report["rows"] = o.rows;
  report["created"] = utc_now();
  report["machine"] = machine_description(o.device);
  report["definitions"] = {
      {"lyapunov",
       "per step, natural log: lim (1/L) log(|dh_L| / |dh_0|) for the recurrence dh_t = exp(dt_t A) dh_{t-1}"},
      {"lyapunov_exact", "max over (row, d, n) of mean_t dt[t, d] A[d, n]: exact for the diagonal recurrence"},
      {"output_rel_dev",
       "|f(x + eps v) - f(x)| / |f(x)| over the rows, v a random direction with |v_row| = |x_row|, float64"},
      {"precision", "autocast forward against fp32: relative deviation of each layer's output and of the embedding"}};
  bool any = false;
  for (const std::string side : {"user", "item"}) {
    auto& tower = side == "user" ? *run.model->user_tower : *run.model->item_tower;
    if (run.config.tower(side).type != nn::EncoderType::kFtMamba) {
      log(fmt::format("{} tower: {}, no state recurrence; skipped", side, enum_name(run.config.tower(side).type)));
      continue;
    }
    const auto& all = side == "user" ? data.users : data.items;
    const auto inputs = all.index_select(torch::arange(std::min(o.rows, all.size()))).to(o.device);
    log(fmt::format("{} tower: analysing {} rows...", side, inputs.size()));
    const auto t = analyze_tower_stability(tower, inputs, options);
    on_tower(side, t);
    report["towers"][side] = t;
    any = true;
  }
  if (!any) throw Error(o.run + ": neither tower is FT-Mamba; nothing to analyse");
  const fs::path out = o.out.empty() ? fs::path(o.run) / "stability" : fs::path(o.out);
  fs::create_directories(out);
  io::write_file_atomic(out / "stability.json", report.dump(2) + "\n");
  render_stability_report(nlohmann::json::parse(report.dump()), out);
  return {out, std::move(report)};
}

}  // namespace ftmamba::eval
