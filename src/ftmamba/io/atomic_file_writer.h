// defines: AtomicFileWriter, write_file_atomic for an output written piece by piece (a stream of results too
// large to hold whole): the bytes go to a new temporary file beside the destination, which appears under its
// name only on commit(), in one rename. An existing file is replaced only when asked to.
#pragma once
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string_view>

#include "ftmamba/core/interrupt.h"

namespace ftmamba::io {

class AtomicFileWriter {
 public:
  // Refuses (Error naming `path` and --force) an existing `path` unless `replace`, and a folder always. The
  // temporary file is created with O_EXCL | O_NOFOLLOW, so a planted file or symbolic link is never written
  // through, and it is removed if the process stops on a signal.
  AtomicFileWriter(std::filesystem::path path, bool replace);
  ~AtomicFileWriter();  // without commit(): removes the temporary file
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(std::string_view bytes);  // through a 1 MiB buffer
  // Flushes and fsyncs the file, renames it to `path` (without `replace`, renameat2 RENAME_NOREPLACE, so a file
  // that appeared meanwhile is not overwritten either) and fsyncs the folder.
  void commit();

  // The checks of the constructor alone, before any long work: Error when `path` may not be written.
  static void check(const std::filesystem::path& path, bool replace);

 private:
  [[noreturn]] void fail(const char* what);
  void discard();

  std::filesystem::path path_, tmp_;
  bool replace_;
  std::FILE* file_ = nullptr;
  std::unique_ptr<CleanupOnInterrupt> cleanup_;
};

}  // namespace ftmamba::io
