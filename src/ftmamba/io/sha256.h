// defines: sha256_file, the hex SHA-256 of a file's bytes (the integrity record of weight files and item
// indexes), and sha256_bytes, the same of bytes in memory.
#pragma once
#include <filesystem>
#include <string>
#include <string_view>

namespace ftmamba::io {

// Hex SHA-256 of a file's bytes; throws Error when it cannot be read or is not a regular file (a FIFO, a device:
// open_regular_file's checks, so it never blocks).
std::string sha256_file(const std::filesystem::path& file);
std::string sha256_bytes(std::string_view bytes);

}  // namespace ftmamba::io
