// defines: RunCache, the one way an experiment reuses a finished run: run a child command into a run folder
// unless a finished run with the same arguments is there; RunRecord, what it keeps of each run it started
// (RUN/compare.json); and same_run, its reuse decision.
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ftmamba/core/log.h"

namespace ftmamba::experiments {

// RUN/compare.json: {"argv": [the child's arguments, without the program], "peak_rss_mib", "wall_seconds"}.
struct RunRecord {
  std::vector<std::string> argv;
  double peak_rss_mib = 0.0;  // the child's peak resident set size
  double wall_seconds = 0.0;

  nlohmann::ordered_json to_json() const;
  static RunRecord from_json(const nlohmann::ordered_json& j);  // throws nlohmann::json::exception
};
// Atomic write; the reader throws Error naming the file when it is missing or malformed.
void write_run_record(const std::filesystem::path& file, const RunRecord& record);
RunRecord read_run_record(const std::filesystem::path& file);

// Whether a run trained on another device may stand in for one on this device.
enum class DeviceMatters {
  kNo,   // compare: what it reports of a run is the run's own record
  kYes,  // compare-finetune: it reads each run's peak memory the way this device measures it
};

// True when two argument lists (without the program) make the same run. --quiet (progress output) never makes
// a run different; --device and --threads with their values (where it ran) do only when `device` is kYes.
bool same_run(std::vector<std::string> saved, std::vector<std::string> now, DeviceMatters device);

// One run an experiment needs.
struct RunRequest {
  std::vector<std::string> argv;  // the child's arguments, without the program
  std::filesystem::path run_dir;  // where the child writes the run (it holds metrics.json once finished)
  std::filesystem::path log;      // the child's stdout
  std::string label;              // progress lines: "LABEL: reusing RUN_DIR", "LABEL: training (log LOG)"
  std::string failure;            // the error: "FAILURE failed (exit N); see LOG. ..."
};

class RunCache {
 public:
  struct Options {
    std::filesystem::path program;  // the child's program: the running executable (self_executable())
    DeviceMatters device = DeviceMatters::kNo;
    bool force = false;                      // rerun even a finished run with the same arguments
    std::string next_time = "the next run";  // the error's "Finished runs are kept and reused on NEXT_TIME."
  };
  RunCache(Options options, Log log);

  // The record of the finished run in request.run_dir when its arguments make the same run (never with force).
  std::optional<RunRecord> finished(const RunRequest& request) const;
  // That record (logging "reusing"), or else runs the child to completion (logging "training"), writes
  // RUN/compare.json and returns its record. Throws Error when the child fails.
  RunRecord run(const RunRequest& request) const;

 private:
  Options options_;
  Log log_;
};

}  // namespace ftmamba::experiments
