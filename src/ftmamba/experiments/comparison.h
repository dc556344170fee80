// defines: the per-run pieces of the compare protocol (compare.h): measuring a finished run (encoding speed,
// popularity bias) and assembling one run's entry of comparison.json (see comparison_report.h for the whole format).
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "ftmamba/metrics/popularity_bias.h"

namespace ftmamba::experiments {

// What a run folder does not record and the comparison needs.
struct RunMeasurements {
  double encode_samples_per_sec = 0.0;  // users + items encoded per second (batch eval.batch_size, no grad)
  metrics::PopularityBias bias;         // test split, full catalog, top bias_k
};

// Loads the run (and its dataset, with the run's saved encodings) and measures it.
RunMeasurements measure_run(const std::filesystem::path& run_dir, int64_t bias_k = 10,
                            torch::Device device = torch::kCPU);

// One entry of comparison.json's "runs": metrics.json's test metrics for the model, history.jsonl, and
// the efficiency figures (parameters and train speed from metrics.json, the rest from `m` and the
// training process's peak RSS). run_dir_label is how the report links to the run.
nlohmann::ordered_json comparison_run_entry(const std::filesystem::path& run_dir, const std::string& run_dir_label,
                                            const std::string& model, int64_t seed, double peak_rss_mib,
                                            const RunMeasurements& m);

// The seed-independent reference rows ("oracle", "true-utility", "popularity") of a run's metrics.json,
// as {"NAME": {"full": {...}, "sampled": {...}}}; absent rankers are left out.
nlohmann::ordered_json reference_rows(const std::filesystem::path& run_dir);

// Reads a JSON file; throws Error naming the file when it is missing or malformed.
nlohmann::ordered_json read_json_file(const std::filesystem::path& file);

}  // namespace ftmamba::experiments
