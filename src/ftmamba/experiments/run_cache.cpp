// defines: RunRecord, same_run and RunCache (see run_cache.h).
#include "ftmamba/experiments/run_cache.h"

#include <fmt/format.h>

#include <algorithm>

#include "ftmamba/core/error.h"
#include "ftmamba/core/interrupt.h"
#include "ftmamba/core/subprocess.h"
#include "ftmamba/io/atomic_file.h"

namespace ftmamba::experiments {
namespace fs = std::filesystem;

nlohmann::ordered_json RunRecord::to_json() const {
  return {{"argv", argv}, {"peak_rss_mib", peak_rss_mib}, {"wall_seconds", wall_seconds}};
}

RunRecord RunRecord::from_json(const nlohmann::ordered_json& j) {
  RunRecord r;
  r.argv = j.value("argv", std::vector<std::string>{});
  r.peak_rss_mib = j.at("peak_rss_mib").get<double>();
  r.wall_seconds = j.value("wall_seconds", 0.0);
  return r;
}

void write_run_record(const fs::path& file, const RunRecord& record) {
  io::write_file_atomic(file, record.to_json().dump(2) + "\n");
}

RunRecord read_run_record(const fs::path& file) {
  try {
    return RunRecord::from_json(nlohmann::ordered_json::parse(io::read_file(file)));
  } catch (const nlohmann::json::exception& e) {
    throw Error(file.string() + ": malformed run record: " + e.what());
  }
}

bool same_run(std::vector<std::string> saved, std::vector<std::string> now, DeviceMatters device) {
  for (auto* args : {&saved, &now}) {
    std::erase(*args, "--quiet");
    if (device == DeviceMatters::kYes) continue;
    for (const char* where : {"--device", "--threads"})
      if (auto it = std::find(args->begin(), args->end(), where); it != args->end())
        args->erase(it, std::min(it + 2, args->end()));
  }
  return saved == now;
}

RunCache::RunCache(Options options, Log log) : options_(std::move(options)), log_(std::move(log)) {}

std::optional<RunRecord> RunCache::finished(const RunRequest& request) const {
  const fs::path record_file = request.run_dir / "compare.json";
  if (options_.force || !fs::exists(record_file) || !fs::exists(request.run_dir / "metrics.json")) return std::nullopt;
  RunRecord record = read_run_record(record_file);
  if (!same_run(record.argv, request.argv, options_.device)) return std::nullopt;
  return record;
}

RunRecord RunCache::run(const RunRequest& request) const {
  if (auto record = finished(request)) {
    log_(fmt::format("{}: reusing {}", request.label, request.run_dir.string()));
    return *record;
  }
  log_(fmt::format("{}: training (log {})", request.label, request.log.string()));
  std::vector<std::string> argv = {options_.program.string()};
  argv.insert(argv.end(), request.argv.begin(), request.argv.end());
  // The run folder is the cache's own: replace a stale run, and continue an interrupted one.
  argv.insert(argv.end(), {"--force", "--resume"});
  const ChildResult child = run_child(argv, request.log);
  if (const int sig = interrupt_signal())
    throw Interrupted(fmt::format("stopped by signal {}; finished runs are kept, and the interrupted one continues "
                                  "from its checkpoint on {}",
                                  sig, options_.next_time),
                      sig);
  if (child.exit_code != 0)
    throw Error(fmt::format("{} failed (exit {}); see {}. Finished runs are kept and reused on {}.", request.failure,
                            child.exit_code, request.log.string(), options_.next_time));
  const RunRecord record{request.argv, child.max_rss_mib, child.seconds};
  write_run_record(request.run_dir / "compare.json", record);
  return record;
}

}  // namespace ftmamba::experiments
