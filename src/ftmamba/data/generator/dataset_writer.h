// defines: gen::write_dataset, which writes a generated dataset's folder (the tables, interactions,
// schema, oracle and dataset.json), and the oracle's definition in words.
#pragma once
#include <filesystem>
#include <string>

#include "ftmamba/data/generator.h"

namespace ftmamba::data::gen {

// Writes users.csv, items.csv, interactions.csv, schema.toml, oracle.safetensors and dataset.json
// into `dir` (which must exist; callers stage it, see io::StagedDir).
void write_dataset(const Spec& spec, const Result& result, const GenerateOptions& options,
                   const std::filesystem::path& dir);

// The oracle's definition, as written to dataset.json and the safetensors metadata.
std::string oracle_definition();

}  // namespace ftmamba::data::gen
