// defines: record_weight_hashes and verify_weight_hash (see weight_hashes.h).
#include "ftmamba/run/weight_hashes.h"

#include "ftmamba/core/error.h"
#include "ftmamba/core/log.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/io/json_file.h"
#include "ftmamba/io/sha256.h"

namespace ftmamba::run {
namespace fs = std::filesystem;

const std::vector<std::string>& hashed_weight_files() {
  static const std::vector<std::string> files = {"model.safetensors", "adapters.safetensors"};
  return files;
}

void record_weight_hashes(const fs::path& dir) {
  const fs::path cfg_file = dir / "config.json";
  nlohmann::json j = io::read_json_file(cfg_file);
  nlohmann::json hashes = nlohmann::json::object();
  for (const auto& name : hashed_weight_files())
    if (fs::exists(dir / name)) hashes[name] = io::sha256_file(dir / name);
  j["sha256"] = hashes;
  io::write_file_atomic(cfg_file, j.dump(2) + "\n");
}

void verify_weight_hash(const nlohmann::json& config_json, const fs::path& file) {
  const std::string name = file.filename().string();
  const nlohmann::json* recorded = nullptr;
  if (config_json.contains("sha256") && config_json["sha256"].is_object() && config_json["sha256"].contains(name))
    recorded = &config_json["sha256"][name];
  if (recorded == nullptr) {
    log_to_stderr("ftmamba: warning: " + file.string() +
                  ": the run's config.json records no SHA-256 for it (a run written before integrity records); "
                  "loading it unchecked");
    return;
  }
  if (!recorded->is_string())
    throw Error((file.parent_path() / "config.json").string() + ": sha256." + name + " must be a hex string");
  const std::string hash = io::sha256_file(file);
  if (hash != recorded->get<std::string>())
    throw Error(file.string() + ": SHA-256 " + hash + " differs from " + recorded->get<std::string>() +
                ", recorded in config.json when the run was written: the file is corrupt or was changed");
}

}  // namespace ftmamba::run
