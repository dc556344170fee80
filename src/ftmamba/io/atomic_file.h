// defines: write_file_atomic (a file appears whole or not at all, and survives a power cut once written),
// read_file, and fsync of files and folders. Folders of files are written with StagedDir (staged_dir.h).
#pragma once
#include <filesystem>
#include <string>
#include <string_view>

namespace ftmamba::io {

// Writes bytes to a new temporary file beside `path` (created with O_EXCL | O_NOFOLLOW, so a planted file or
// symbolic link is never written through), fsyncs it, renames it over `path` and fsyncs the folder. Every
// write, fsync and close is checked; on failure the temporary file is removed and Error names `path`.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);
std::string read_file(const std::filesystem::path& path);

// Writes every byte to `fd`, again after a short write or EINTR; false (errno set) when a write fails.
bool write_all(int fd, std::string_view bytes);

// fsync of a file, and of a folder (which makes a rename or a new entry inside it durable).
void fsync_file(const std::filesystem::path& file);
void fsync_dir(const std::filesystem::path& dir);

}  // namespace ftmamba::io
