// defines: StagedDir, the one way ftmamba writes an output folder (a run, a dataset). The folder is built
// under a sibling name "OUT.partial" and appears at OUT only on commit(), in one atomic step, so a failed or
// killed command leaves OUT as it was. Before any work it refuses to write where it could destroy what
// ftmamba did not write, and it holds a lock so that a second writer of the same OUT is refused.
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ftmamba/core/interrupt.h"

namespace ftmamba::io {

// What an output folder holds; an existing folder is replaced only by an output of the same kind.
enum class OutputKind {
  kRun,      // config.json with model.safetensors or adapters.safetensors; adapter_config.json with
             // adapter_model.safetensors
  kDataset,  // dataset.json, or schema.toml with interactions.csv
};

struct OutputPolicy {
  OutputKind kind = OutputKind::kRun;
  bool force = false;   // replace an existing output of the same kind (never anything else)
  bool resume = false;  // take over an interrupted writer's staging folder that holds a checkpoint
  // Folders the command reads (--data, --run): the output may not be one, lie inside one, or contain one.
  std::vector<std::filesystem::path> inputs;
};

// The folder a checkpoint lives in, inside a staging folder: an interrupted run's "OUT.partial/checkpoint".
inline constexpr const char* kCheckpointDir = "checkpoint";

class StagedDir {
 public:
  // Checks the destination against the policy (throws Error naming OUT and the fix: --force, another folder),
  // cleans up the leftovers of writers that are gone, locks, and creates or (resume) adopts OUT.partial.
  StagedDir(std::filesystem::path final_path, OutputPolicy policy);
  ~StagedDir();  // without commit() or keep(): removes the staging folder
  StagedDir(const StagedDir&) = delete;
  StagedDir& operator=(const StagedDir&) = delete;

  const std::filesystem::path& path() const { return staging_; }  // write here
  const std::filesystem::path& final_path() const { return final_; }
  // The staging folder is an interrupted writer's, taken over with its checkpoint (policy.resume).
  bool adopted() const { return adopted_; }
  const OutputPolicy& policy() const { return policy_; }

  // Moves the folder into place: renameat2(RENAME_EXCHANGE) with an existing OUT, so OUT is never missing,
  // and the old folder is removed only once the new one is in place. Files and folders are fsync'd.
  void commit();
  // Leaves the staging folder (it holds a checkpoint) for a later --resume, and releases the lock.
  void keep();

  // The checks of the constructor alone (for a dry run): nothing is created or removed.
  static void check(const std::filesystem::path& final_path, const OutputPolicy& policy);

 private:
  static std::string fmt_out(const std::filesystem::path& p);

  std::filesystem::path final_, staging_;
  OutputPolicy policy_;
  int lock_fd_ = -1;
  bool adopted_ = false, done_ = false;
  std::unique_ptr<CleanupOnInterrupt> cleanup_;
};

// What kind of ftmamba output `dir` holds, if any.
bool is_output_of_kind(const std::filesystem::path& dir, OutputKind kind);
std::string output_kind_name(OutputKind kind);

}  // namespace ftmamba::io
