// defines: ByteReader, the bytes of an input file in order: as they are on disk, or decompressed from gzip through
// zlib as they are read (never the whole file in memory). Like every input, the file must be a regular one
// (regular_file.h), and every error names it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace ftmamba::io {

class ByteReader {
 public:
  // Opens `path` (open_regular_file: a FIFO or device is refused, never waited on). With `gzip`, the file must be
  // one gzip stream or several back to back (as `cat a.gz b.gz` and pigz make them); nothing may follow the last.
  ByteReader(const std::filesystem::path& path, bool gzip);
  ~ByteReader();
  ByteReader(const ByteReader&) = delete;
  ByteReader& operator=(const ByteReader&) = delete;

  // Reads up to `n` bytes into `out` and returns how many; 0 only at the end. Throws Error "PATH: ..." when the
  // file cannot be read, and for gzip data that is corrupt, not gzip at all, or cut short.
  size_t read(char* out, size_t n);

  // Bytes of the file on disk taken so far (compressed bytes for gzip): progress against file_size().
  uint64_t file_bytes_read() const;
  uint64_t file_size() const { return file_size_; }
  bool gzip() const { return inflater_ != nullptr; }

 private:
  struct Inflater;  // zlib's stream state, so that zlib.h stays out of this header
  size_t read_file(char* out, size_t n);
  [[noreturn]] void fail(const std::string& what) const;

  std::string path_;
  int fd_ = -1;
  uint64_t file_size_ = 0;
  uint64_t taken_ = 0;  // bytes read from the file so far
  std::unique_ptr<Inflater> inflater_;
};

}  // namespace ftmamba::io
