// defines: Preset (a named synthetic dataset: its feature tables and latent preference model), the
// preset registry (find_preset, preset_names) and generate_dataset, which writes a dataset folder.
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ftmamba/data/generator.h"

namespace ftmamba::data {

// A preset builds the feature tables (sized for options.pairs) and declares the model; the engine in
// generator.h does the sampling, the oracle and the files. A new preset is one file under presets/
// defining `std::unique_ptr<Preset> make_NAME_preset()`, plus its name in the list in preset.cpp.
class Preset {
 public:
  virtual ~Preset() = default;
  virtual std::string name() const = 0;
  virtual std::string summary() const = 0;  // one line, for --help and error messages
  // Deterministic in options.seed. Throws Error when options.pairs is out of the preset's range.
  virtual gen::Spec build(const GenerateOptions& options) const = 0;
};

// How many users and items a preset makes for `pairs` user-action pairs: users grow with the data (16 pairs
// each at 160,000), items with its square root so small test sets stay rankable. Throws Error below 500 pairs.
struct PresetSize {
  int64_t users = 0;
  int64_t items = 0;
};
PresetSize preset_size(const std::string& preset, int64_t pairs, double users_at_160k, double items_at_160k);

// Throws Error "unknown preset 'X' (valid: a, b)" for an unknown name.
const Preset& find_preset(const std::string& name);
std::vector<std::string> preset_names();

// Builds the preset's dataset and writes it to out_dir: users.csv, items.csv, interactions.csv,
// schema.toml, oracle.safetensors, dataset.json. The folder is built under a temporary name and
// renamed into place at the end, so a failure leaves nothing behind. An existing out_dir is replaced
// only if it is empty or a dataset this generator wrote (it has dataset.json).
// out_dir is written through io::StagedDir: an existing dataset there is replaced only with `force`.
void generate_dataset(const std::string& preset, const GenerateOptions& options, const std::filesystem::path& out_dir,
                      bool force = false);

}  // namespace ftmamba::data
