// defines: ConfigSources (where a run's settings come from: a TOML file, --model, --set assignments,
// --precision, --no-graph, --threads) and the one order in which every command that assembles a RunConfig applies them.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "ftmamba/run/config.h"

namespace ftmamba::run {

// Each source is optional (empty / false: not given). model and precision are text, as the command line gives
// them, and mean the same as --set model.type=... and --set train.precision=..., so their errors name the key.
struct ConfigSources {
  std::filesystem::path file;      // TOML with [model] [train] [data] [eval] tables
  std::string model;               // model.type
  std::vector<std::string> sets;   // "section.key=value", applied in order
  std::string precision;           // train.precision
  bool no_graph = false;           // train.cuda_graph = false
  std::optional<int64_t> threads;  // train.threads
};

// Applies the sources onto cfg in this order, a later one winning over an earlier one: the file, then model,
// then each assignment of sets, then no_graph, then precision, then threads. Throws DataError naming the file and key
// for a bad file, Error naming the key for a bad assignment. Does not validate: a caller that checks something about
// the result first (finetune: the model is unchanged) calls cfg.validate() after.
void apply_config_sources(RunConfig& cfg, const ConfigSources& sources);

// The default RunConfig with the sources applied, validated.
RunConfig config_from_sources(const ConfigSources& sources);

}  // namespace ftmamba::run
