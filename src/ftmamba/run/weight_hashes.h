// defines: the integrity record of a run folder's weight files: config.json's "sha256" object maps each weights
// or adapter file the run wrote (model.safetensors, adapters.safetensors) to the SHA-256 of its bytes, so that a
// flipped byte or an edited header is refused on load rather than silently scoring with other weights.
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ftmamba::run {

// The files a run may hold whose bytes are hashed, in the order they are recorded.
const std::vector<std::string>& hashed_weight_files();

// Adds to `dir`/config.json (rewritten atomically) the SHA-256 of each of hashed_weight_files() present in `dir`.
// Called once the weights are written, before the folder is committed.
void record_weight_hashes(const std::filesystem::path& dir);

// Checks `file` (a file of the run folder) against the hash config.json records for its name. A mismatch throws
// Error naming the file and both hashes. A run written before the record (no "sha256" object, or no entry for the
// file) loads unchecked, after one line on stderr saying so.
void verify_weight_hash(const nlohmann::json& config_json, const std::filesystem::path& file);

}  // namespace ftmamba::run
