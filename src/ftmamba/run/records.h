// defines: the typed records of a run folder's result files, each with its one writer and one reader:
// EpochRecord (a line of history.jsonl) and RunMetrics (metrics.json). Every command that writes or reads
// those files goes through them, so the keys live in one place.
#pragma once
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace ftmamba::run {

// One epoch of training, as the trainer reports it and history.jsonl holds it.
struct EpochRecord {
  int64_t epoch = 0;  // 1-based
  double loss = 0.0;  // mean training loss over the epoch's samples
  double lr = 0.0;    // learning rate at the epoch's end
  double seconds = 0.0;
  double samples_per_sec = 0.0;
  int64_t skipped_steps = 0;     // fp16: steps skipped after a gradient overflow
  nlohmann::ordered_json valid;  // validation metrics {"HR@10": ..., ...}; {} when no user is validated
  bool best = false;             // the best validation HR@10 so far

  double valid_hr10() const { return valid.value("HR@10", 0.0); }
  nlohmann::ordered_json to_json() const;
  static EpochRecord from_json(const nlohmann::ordered_json& j);  // throws nlohmann::json::exception
};

// A run's metrics.json: how it trained, and its test evaluation.
struct RunMetrics {
  std::string model_type;  // RunConfig::model_label()
  int64_t parameters = 0;
  int64_t best_epoch = 0;
  double best_valid_hr10 = 0.0;
  int64_t epochs_run = 0;
  bool stopped_early = false;
  double train_seconds = 0.0;
  double train_samples_per_sec = 0.0;
  std::string device;
  std::string precision;
  std::optional<double> peak_gpu_allocated_mib;  // GPU runs
  // Fine-tuned runs only.
  std::optional<std::string> finetune;  // "full" | "lora"
  std::optional<int64_t> trainable_parameters;
  std::optional<std::string> base_run;
  // eval::evaluate_test's result: {"full": {RANKER: {METRIC: value}}, "sampled": {...}}; rankers are "model",
  // then the references ("oracle", "true-utility", "popularity") the data has.
  nlohmann::ordered_json test;

  // One test figure, e.g. test_metric("full", "model", "HR@10"); throws Error naming what is missing.
  double test_metric(const std::string& protocol, const std::string& ranker, const std::string& metric) const;
  nlohmann::ordered_json to_json() const;
  static RunMetrics from_json(const nlohmann::ordered_json& j);  // throws nlohmann::json::exception
};

// Writers: atomic (temporary name, then rename). Readers: throw Error naming the file (and line) when it is missing
// or malformed.
void write_history(const std::filesystem::path& file, const std::vector<EpochRecord>& epochs);
std::vector<EpochRecord> read_history(const std::filesystem::path& file);
void write_metrics(const std::filesystem::path& file, const RunMetrics& metrics);
RunMetrics read_metrics(const std::filesystem::path& file);

}  // namespace ftmamba::run
