// defines: atomic writes (temp name + rename) and StagedDir, which builds a folder under a temporary
// name and renames it into place only on commit(), so a failed command leaves nothing half-written.
#pragma once
#include <filesystem>
#include <string>
#include <string_view>

namespace ftmamba::io {

// Writes bytes to `path` via "path.tmp-PID" + fsync + rename.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);
std::string read_file(const std::filesystem::path& path);

// A directory that appears at `final_path` only when commit() is called. Until then the work happens
// in a sibling "final_path.partial-PID" which the destructor removes. If final_path already exists,
// commit() replaces it (the old copy is removed only after the new one is complete).
class StagedDir {
 public:
  explicit StagedDir(std::filesystem::path final_path);
  ~StagedDir();
  StagedDir(const StagedDir&) = delete;
  StagedDir& operator=(const StagedDir&) = delete;
  const std::filesystem::path& path() const { return staging_; }  // write here
  const std::filesystem::path& final_path() const { return final_; }
  void commit();

 private:
  std::filesystem::path final_, staging_;
  bool committed_ = false;
};

}  // namespace ftmamba::io
