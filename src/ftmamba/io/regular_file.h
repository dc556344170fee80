// defines: require_regular_file and open_regular_file, the checks every input file (data, config, weights) passes
// before it is read: a FIFO, device, socket or directory named as a file would block a reader or feed it without
// end, so it is refused by name instead, without ever blocking on it.
#pragma once
#include <filesystem>

namespace ftmamba::io {

// Throws Error "PATH: not found" or "PATH: is a FIFO, not a regular file" (directory, device, socket) unless the
// path (after symlinks) is a regular file. stat() only: never opens, so never blocks.
void require_regular_file(const std::filesystem::path& path);

// Opens a regular file for reading and returns its descriptor (close-on-exec; the caller closes it). The open is
// non-blocking and fstat() checks the opened file, so a FIFO swapped in after a stat() cannot block either.
// Throws Error naming the path as require_regular_file does, or with the reason the open failed.
int open_regular_file(const std::filesystem::path& path);

}  // namespace ftmamba::io
