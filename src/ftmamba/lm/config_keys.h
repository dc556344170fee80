// defines: the checks of a model's config.json keys that both checkpoint layouts (hf_checkpoint.h,
// mamba_ssm_checkpoint.h) share, each Error naming the file and the key.
#pragma once
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace ftmamba::lm::config_keys {

// The largest width a config may give (hidden size, time-step rank): no published shape comes near; it bounds what
// a config.json may make ftmamba allocate.
inline constexpr int64_t kMostDim = int64_t{1} << 20;

// The JSON object of `path` ("PATH: not found", "PATH: malformed JSON: ...", "PATH: not a JSON object").
nlohmann::json read_object(const std::filesystem::path& path);

// A whole number in [lo, hi] under `key`; `fallback` when absent and given.
int64_t integer(const nlohmann::json& j, const std::filesystem::path& file, const std::string& key, int64_t lo,
                int64_t hi, std::optional<int64_t> fallback = std::nullopt);

bool boolean(const nlohmann::json& j, const std::filesystem::path& file, const std::string& key, bool fallback);

// A key whose only value this implementation runs: refused, naming it, when the config asks for another.
void require(const nlohmann::json& j, const std::filesystem::path& file, const std::string& key,
             const nlohmann::json& supported, const std::string& why);

}  // namespace ftmamba::lm::config_keys
