// defines: ComparisonInput, comparison.json (see comparison_report.h) read into what the comparison report lays
// out: the models in order, the runs with their colour and dash indices, the cutoffs and the reference rankers;
// and the errors that name the bad part of the file.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ftmamba::experiments {

struct ComparedRun {
  std::string model, seed, run_dir;
  int model_index = 0, seed_index = 0;  // colour, dash pattern
  const nlohmann::json* j = nullptr;    // its entry of "runs"
  std::string label() const { return model + " seed " + seed; }
};

// Holds pointers into the JSON it was read from, which must outlive it.
struct ComparisonInput {
  std::vector<std::string> models;  // "models" first, then any other model of "runs", in order of appearance
  std::vector<int64_t> ks;
  std::vector<ComparedRun> runs;
  std::vector<std::pair<std::string, const nlohmann::json*>> references;  // name, {"full":..,"sampled":..}
  size_t n_seeds = 0;

  std::vector<const ComparedRun*> runs_of(const std::string& model) const;
};

// Throws Error "comparison.json: WHERE: WHAT" when a required piece is missing.
ComparisonInput read_comparison_input(const nlohmann::json& j);

// One protocol's ("full", "sampled") test value of a run's entry or of a reference, if present.
std::optional<double> test_value(const nlohmann::json& owner, const std::string& protocol, const std::string& key);

// Throws Error "comparison.json: WHERE: WHAT".
[[noreturn]] void comparison_error(const std::string& where, const std::string& what);

// j[key], which must be an array of numbers.
std::vector<double> number_array(const nlohmann::json& j, const std::string& key, const std::string& where);

}  // namespace ftmamba::experiments
