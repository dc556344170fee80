// defines: write_gzip, a test file written as gzip through zlib (the format `gzip` and pandas' to_csv write).
#pragma once
#include <zlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>

namespace ftmamba_test {

// Writes `text` to `path` as one gzip member; `append` adds another member behind what the file holds.
inline void write_gzip(const std::filesystem::path& path, const std::string& text, bool append = false) {
  gzFile f = gzopen(path.c_str(), append ? "ab" : "wb");
  if (f == nullptr) throw std::runtime_error("cannot write " + path.string());
  const bool ok = text.empty() || gzwrite(f, text.data(), static_cast<unsigned>(text.size())) > 0;
  if (gzclose(f) != Z_OK || !ok) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace ftmamba_test
