// defines: what every fuzz target shares: the input written to a file (the parsers read paths, as they do in
// use), and the rule that ftmamba::Error (DataError included) is how a parser rejects bad input. Any other
// exception escapes to libFuzzer, which reports it as a crash, as it does a sanitizer report.
#pragma once
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "ftmamba/core/error.h"

namespace ftmamba::fuzz {

// This process's own temporary folder, removed at exit.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("ftmamba-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratch_dir(), ec);
    });
    return d;
  }();
  return dir;
}

// `size` bytes at `data` as the file `name` of the scratch folder; returns its path.
inline std::filesystem::path write_input(const std::string& name, const uint8_t* data, size_t size) {
  const auto path = scratch_dir() / name;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr || (size > 0 && std::fwrite(data, 1, size, f) != size) || std::fclose(f) != 0) std::abort();
  return path;
}

// Runs parse(); its ftmamba::Error is an expected rejection of the input.
template <class F>
void parse_or_reject(F&& parse) {
  try {
    parse();
  } catch (const Error&) {
  }
}

}  // namespace ftmamba::fuzz
