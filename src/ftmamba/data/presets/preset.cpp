// Implements the preset registry and generate_dataset.
#include "ftmamba/data/presets/preset.h"

#include <cmath>

#include "ftmamba/core/error.h"
#include "ftmamba/data/generator/dataset_writer.h"
#include "ftmamba/io/staged_dir.h"

namespace ftmamba::data {

// The registry: one entry per preset, each defined in presets/NAME.cpp. An explicit list rather than
// static registration objects, which the linker drops from a static library.
#define FTMAMBA_PRESETS(X) X(spotify) X(hm) X(vaccine)

#define FTMAMBA_DECLARE_PRESET(name) std::unique_ptr<Preset> make_##name##_preset();
FTMAMBA_PRESETS(FTMAMBA_DECLARE_PRESET)
#undef FTMAMBA_DECLARE_PRESET

namespace {
const std::vector<std::unique_ptr<Preset>>& registry() {
  static const std::vector<std::unique_ptr<Preset>> presets = [] {
    std::vector<std::unique_ptr<Preset>> v;
#define FTMAMBA_MAKE_PRESET(name) v.push_back(make_##name##_preset());
    FTMAMBA_PRESETS(FTMAMBA_MAKE_PRESET)
#undef FTMAMBA_MAKE_PRESET
    return v;
  }();
  return presets;
}
}  // namespace

std::vector<std::string> preset_names() {
  std::vector<std::string> names;
  for (const auto& p : registry()) names.push_back(p->name());
  return names;
}

const Preset& find_preset(const std::string& name) {
  for (const auto& p : registry())
    if (p->name() == name) return *p;
  std::string valid;
  for (const std::string& n : preset_names()) valid += (valid.empty() ? "" : ", ") + n;
  throw Error("unknown preset '" + name + "' (valid: " + valid + ")");
}

PresetSize preset_size(const std::string& preset, int64_t pairs, double users_at_160k, double items_at_160k) {
  if (pairs < 500) throw Error("preset '" + preset + "' needs --pairs >= 500");
  const double scale = static_cast<double>(pairs) / 160000.0;
  return {static_cast<int64_t>(std::llround(users_at_160k * scale)),
          static_cast<int64_t>(std::llround(items_at_160k * std::sqrt(scale)))};
}

void generate_dataset(const std::string& preset, const GenerateOptions& options, const std::filesystem::path& out_dir,
                      bool force) {
  namespace fs = std::filesystem;
  const Preset& p = find_preset(preset);
  if (options.pairs <= 0) throw Error("--pairs must be positive");
  io::StagedDir stage(out_dir, {.kind = io::OutputKind::kDataset, .force = force, .resume = false, .inputs = {}});
  const gen::Spec spec = p.build(options);
  const gen::Result result = gen::generate(spec, options);
  gen::write_dataset(spec, result, options, stage.path());
  stage.commit();
}

}  // namespace ftmamba::data
