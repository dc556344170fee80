// defines: read_json_file, a JSON file parsed whole, or an Error naming the file ("PATH: malformed JSON: ...").
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>

#include "ftmamba/core/error.h"
#include "ftmamba/io/atomic_file.h"

namespace ftmamba::io {

// Json: nlohmann::json, or nlohmann::ordered_json to keep the file's key order. Errors of reading the file are
// read_file's.
template <typename Json = nlohmann::json>
Json read_json_file(const std::filesystem::path& path) {
  try {
    return Json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string() + ": malformed JSON: " + e.what());
  }
}

}  // namespace ftmamba::io
