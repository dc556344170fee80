// defines: AppendFile, a file that grows by whole records, each durable once append() returns (a log of changes
// that must outlive the process: the serving catalog's). Readers treat a last line without its newline as a record
// cut short by a crash.
#pragma once
#include <filesystem>
#include <string_view>

namespace ftmamba::io {

class AppendFile {
 public:
  // Opens `path` for appending, creating it (0644) when missing; never through a symbolic link. Error names the path.
  explicit AppendFile(std::filesystem::path path);
  ~AppendFile();
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;

  // Writes `bytes` at the end in one write where the system allows, then fdatasync: on return the bytes survive a
  // crash or a power cut. Error names the path (a full disk, say).
  void append(std::string_view bytes);
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace ftmamba::io
