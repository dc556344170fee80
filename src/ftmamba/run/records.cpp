// defines: EpochRecord and RunMetrics with their writers and readers (see records.h).
#include "ftmamba/run/records.h"

#include <fstream>

#include "ftmamba/core/error.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/io/regular_file.h"

namespace ftmamba::run {
namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

json EpochRecord::to_json() const {
  return {{"epoch", epoch},
          {"loss", loss},
          {"lr", lr},
          {"seconds", seconds},
          {"samples_per_sec", samples_per_sec},
          {"skipped_steps", skipped_steps},
          {"valid", valid},
          {"best", best}};
}

EpochRecord EpochRecord::from_json(const json& j) {
  EpochRecord r;
  r.epoch = j.at("epoch").get<int64_t>();
  r.loss = j.at("loss").get<double>();
  r.lr = j.at("lr").get<double>();
  r.seconds = j.at("seconds").get<double>();
  r.samples_per_sec = j.at("samples_per_sec").get<double>();
  r.skipped_steps = j.value("skipped_steps", int64_t{0});
  r.valid = j.at("valid");
  r.best = j.at("best").get<bool>();
  return r;
}

double RunMetrics::test_metric(const std::string& protocol, const std::string& ranker,
                               const std::string& metric) const {
  const auto p = test.find(protocol);
  if (p == test.end() || !p->contains(ranker) || !(*p)[ranker].contains(metric) || !(*p)[ranker][metric].is_number())
    throw Error("metrics: no test." + protocol + "." + ranker + "." + metric);
  return (*p)[ranker][metric].get<double>();
}

json RunMetrics::to_json() const {
  json j;
  j["model_type"] = model_type;
  j["parameters"] = parameters;
  j["best_epoch"] = best_epoch;
  j["best_valid_HR@10"] = best_valid_hr10;
  j["epochs_run"] = epochs_run;
  j["stopped_early"] = stopped_early;
  j["train_seconds"] = train_seconds;
  j["train_samples_per_sec"] = train_samples_per_sec;
  j["device"] = device;
  j["precision"] = precision;
  if (peak_gpu_allocated_mib) j["peak_gpu_allocated_mib"] = *peak_gpu_allocated_mib;
  if (finetune) j["finetune"] = *finetune;
  if (trainable_parameters) j["trainable_parameters"] = *trainable_parameters;
  if (base_run) j["base_run"] = *base_run;
  j["test"] = test;
  return j;
}

RunMetrics RunMetrics::from_json(const json& j) {
  RunMetrics m;
  m.model_type = j.at("model_type").get<std::string>();
  m.parameters = j.at("parameters").get<int64_t>();
  m.best_epoch = j.at("best_epoch").get<int64_t>();
  m.best_valid_hr10 = j.at("best_valid_HR@10").get<double>();
  m.epochs_run = j.at("epochs_run").get<int64_t>();
  m.stopped_early = j.at("stopped_early").get<bool>();
  m.train_seconds = j.at("train_seconds").get<double>();
  m.train_samples_per_sec = j.at("train_samples_per_sec").get<double>();
  m.device = j.at("device").get<std::string>();
  m.precision = j.at("precision").get<std::string>();
  if (j.contains("peak_gpu_allocated_mib")) m.peak_gpu_allocated_mib = j["peak_gpu_allocated_mib"].get<double>();
  if (j.contains("finetune")) m.finetune = j["finetune"].get<std::string>();
  if (j.contains("trainable_parameters")) m.trainable_parameters = j["trainable_parameters"].get<int64_t>();
  if (j.contains("base_run")) m.base_run = j["base_run"].get<std::string>();
  m.test = j.at("test");
  if (!m.test.is_object()) throw Error("'test' is not an object");
  return m;
}

void write_history(const fs::path& file, const std::vector<EpochRecord>& epochs) {
  std::string text;
  for (const auto& e : epochs) text += e.to_json().dump() + "\n";
  io::write_file_atomic(file, text);
}

std::vector<EpochRecord> read_history(const fs::path& file) {
  if (fs::exists(file)) io::require_regular_file(file);  // a FIFO would block the read
  std::ifstream in(file);
  if (!in) throw Error(file.string() + ": cannot read");
  std::vector<EpochRecord> rows;
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    try {
      rows.push_back(EpochRecord::from_json(json::parse(line)));
    } catch (const nlohmann::json::exception& e) {
      throw Error(file.string() + ":" + std::to_string(n) + ": not an epoch record: " + e.what());
    }
  }
  return rows;
}

void write_metrics(const fs::path& file, const RunMetrics& metrics) {
  io::write_file_atomic(file, metrics.to_json().dump(2) + "\n");
}

RunMetrics read_metrics(const fs::path& file) {
  if (fs::exists(file)) io::require_regular_file(file);
  std::ifstream in(file);
  if (!in) throw Error(file.string() + ": cannot read");
  try {
    return RunMetrics::from_json(json::parse(in));
  } catch (const nlohmann::json::exception& e) {
    throw Error(file.string() + ": not a run's metrics: " + e.what());
  } catch (const Error& e) {
    throw Error(file.string() + ": " + e.what());
  }
}

}  // namespace ftmamba::run
