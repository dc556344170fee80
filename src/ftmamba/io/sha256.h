// defines: sha256_file, the hex SHA-256 of a file's bytes (the integrity record of weight files).
#pragma once
#include <filesystem>
#include <string>

namespace ftmamba::io {

// Hex SHA-256 of a file's bytes; throws Error when it cannot be read or is not a regular file (a FIFO, a device:
// open_regular_file's checks, so it never blocks).
std::string sha256_file(const std::filesystem::path& file);

}  // namespace ftmamba::io
