// defines: apply_config_sources and config_from_sources (see config_sources.h).
#include "ftmamba/run/config_sources.h"

namespace ftmamba::run {

void apply_config_sources(RunConfig& cfg, const ConfigSources& sources) {
  if (!sources.file.empty()) cfg.load_toml(sources.file);
  if (!sources.model.empty()) cfg.set("model.type", sources.model);
  for (const auto& s : sources.sets) cfg.set_assignment(s);
  if (sources.no_graph) cfg.train.cuda_graph = false;
  if (!sources.precision.empty()) cfg.set("train.precision", sources.precision);
  if (sources.threads) cfg.train.threads = *sources.threads;
}

RunConfig config_from_sources(const ConfigSources& sources) {
  RunConfig cfg;
  apply_config_sources(cfg, sources);
  cfg.validate();
  return cfg;
}

}  // namespace ftmamba::run
