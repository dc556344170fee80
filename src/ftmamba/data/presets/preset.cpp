// Implements the preset registry and generate_dataset.
#include "ftmamba/data/presets/preset.h"

#include <cmath>

#include "ftmamba/core/error.h"
#include "ftmamba/data/generator/dataset_writer.h"
#include "ftmamba/io/atomic_file.h"

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

void generate_dataset(const std::string& preset, const GenerateOptions& options, const std::filesystem::path& out_dir) {
  namespace fs = std::filesystem;
  const Preset& p = find_preset(preset);
  if (options.pairs <= 0) throw Error("--pairs must be positive");
  // Replacing a folder is fine for an earlier dataset, never for anything else the user named by mistake.
  if (fs::exists(out_dir)) {
    if (!fs::is_directory(out_dir)) throw Error(out_dir.string() + ": exists and is not a folder");
    if (!fs::is_empty(out_dir) && !fs::exists(out_dir / "dataset.json"))
      throw Error(out_dir.string() +
                  ": exists and is not a generated dataset (no dataset.json); refusing to replace it");
  }
  io::StagedDir stage(fs::absolute(out_dir).lexically_normal());
  const gen::Spec spec = p.build(options);
  const gen::Result result = gen::generate(spec, options);
  gen::write_dataset(spec, result, options, stage.path());
  stage.commit();
}

}  // namespace ftmamba::data
