// defines: StagedDir (see staged_dir.h).
#include "ftmamba/io/staged_dir.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ftmamba/core/error.h"
#include "ftmamba/io/atomic_file.h"

namespace ftmamba::io {
namespace fs = std::filesystem;
namespace {

// Written into a staging folder when it is created, so that a folder named "OUT.partial" that ftmamba did
// not make is never taken for one of its own. Removed before the commit.
constexpr const char* kStagingMarker = ".ftmamba-staging";

// A file descriptor closed on scope exit.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

int open_dir(const fs::path& dir) { return ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC); }

// Everyone who creates, inspects or renames a staging folder holds the lock of its parent folder for that
// moment, so that checking a staging folder's lock and creating one cannot interleave.
struct ParentLock {
  Fd fd;
  explicit ParentLock(const fs::path& parent) : fd(open_dir(parent)) {
    if (fd.fd < 0) throw Error(parent.string() + ": cannot open the folder: " + errno_text());
    while (::flock(fd.fd, LOCK_EX) != 0)
      if (errno != EINTR) throw Error(parent.string() + ": cannot lock the folder: " + errno_text());
  }
};

bool process_alive(long pid) { return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM); }

// Earlier versions staged into "OUT.partial-PID" and replaced through "OUT.old-PID": remove those whose
// process is gone. (They are ftmamba's own: the name carries the writer's process id.)
void remove_stale_pid_folders(const fs::path& final_path) {
  const std::string name = final_path.filename().string();
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(final_path.parent_path(), ec)) {
    const std::string n = e.path().filename().string();
    for (const std::string tag : {".partial-", ".old-"}) {
      if (n.rfind(name + tag, 0) != 0) continue;
      const std::string pid = n.substr(name.size() + tag.size());
      if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
      if (!process_alive(std::stol(pid))) fs::remove_all(e.path(), ec);
    }
  }
}

bool same_or_inside(const fs::path& inner, const fs::path& outer) {
  auto i = inner.begin();
  for (auto o = outer.begin(); o != outer.end(); ++o, ++i) {
    if (o->empty()) continue;  // a trailing separator
    if (i == inner.end() || *i != *o) return false;
  }
  return true;
}

// The absolute path as written (a symbolic link at the end stays a link), without a trailing separator.
fs::path normalized(const fs::path& p) {
  fs::path n = fs::absolute(p).lexically_normal();
  if (n.filename().empty()) n = n.parent_path();
  return n;
}

// "OUT.partial", beside OUT (a normalized path).
fs::path staging_path(const fs::path& out) { return out.parent_path() / (out.filename().string() + ".partial"); }

// The same with every link resolved: what an output and an input are compared by.
fs::path resolved(const fs::path& p) { return normalized(fs::weakly_canonical(fs::absolute(p))); }

void fsync_tree(const fs::path& dir) {
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_symlink()) continue;
    if (e.is_regular_file()) fsync_file(e.path());
    if (e.is_directory()) fsync_dir(e.path());
  }
  fsync_dir(dir);
}

}  // namespace

std::string output_kind_name(OutputKind kind) { return kind == OutputKind::kRun ? "run" : "dataset"; }

bool is_output_of_kind(const fs::path& dir, OutputKind kind) {
  const auto has = [&](const char* name) { return fs::is_regular_file(fs::symlink_status(dir / name)); };
  if (kind == OutputKind::kRun)
    return (has("config.json") && (has("model.safetensors") || has("adapters.safetensors"))) ||
           (has("adapter_config.json") && has("adapter_model.safetensors"));  // lm finetune's LoRA adapters
  return has("dataset.json") || (has("schema.toml") && has("interactions.csv"));
}

void StagedDir::check(const fs::path& final_path, const OutputPolicy& policy) {
  if (final_path.empty()) throw Error("no output folder given");
  const fs::path out = normalized(final_path);
  const std::string kind = output_kind_name(policy.kind);
  // An interrupted writer was already allowed to replace OUT: resuming it needs no second --force.
  const fs::path staging = staging_path(out);
  const bool resuming = policy.resume && fs::is_directory(fs::symlink_status(staging / kCheckpointDir));
  const fs::path real_out = resolved(final_path);
  for (const auto& input : policy.inputs) {
    if (input.empty()) continue;
    const fs::path in = resolved(input);
    if (same_or_inside(real_out, in))
      throw Error(fmt_out(final_path) + (real_out == in ? " is " : " lies inside ") + "the input folder " +
                  input.string() + "; choose an output folder outside it");
    if (same_or_inside(in, real_out))
      throw Error(fmt_out(final_path) + " contains the input folder " + input.string() +
                  "; choose an output folder that does not hold it");
  }
  const auto st = fs::symlink_status(out);
  if (!fs::exists(st)) return;
  if (fs::is_symlink(st))
    throw Error(fmt_out(final_path) + " is a symbolic link; give the folder it points to, or a new folder");
  if (!fs::is_directory(st)) throw Error(fmt_out(final_path) + " exists and is not a folder; refusing to replace it");
  if (fs::is_empty(out)) return;
  if (!is_output_of_kind(out, policy.kind))
    throw Error(fmt_out(final_path) + " is not empty and does not hold an ftmamba " + kind +
                "; refusing to write there, as that would delete its files. Choose a new or empty folder");
  if (!policy.force && !resuming)
    throw Error(fmt_out(final_path) + " already holds an ftmamba " + kind +
                "; pass --force to replace it, or choose another folder");
}

std::string StagedDir::fmt_out(const fs::path& p) { return "--out " + p.string(); }

StagedDir::StagedDir(fs::path final_path, OutputPolicy policy) : policy_(std::move(policy)) {
  check(final_path, policy_);
  final_ = normalized(final_path);
  const fs::path parent = final_.parent_path();
  fs::create_directories(parent);
  staging_ = staging_path(final_);
  const std::string shown = final_path.string();

  ParentLock parent_lock(parent);
  remove_stale_pid_folders(final_);
  const auto st = fs::symlink_status(staging_);
  if (fs::exists(st)) {
    const auto not_ours = [&] {
      return Error(staging_.string() + " exists and is not an ftmamba staging folder; move it away to write " + shown);
    };
    if (!fs::is_directory(st) || fs::is_symlink(st)) throw not_ours();
    // The lock first: a writer that holds it may be committing, with its marker already gone.
    Fd fd(open_dir(staging_));
    if (fd.fd < 0) throw Error(staging_.string() + ": cannot open: " + errno_text());
    if (::flock(fd.fd, LOCK_EX | LOCK_NB) != 0)
      throw Error(shown + " is being written by another ftmamba process (its staging folder " + staging_.string() +
                  " is locked); wait for it to finish, or choose another --out");
    if (!fs::exists(staging_ / kStagingMarker)) throw not_ours();
    // The writer is gone: its folder is ours to take over (resume) or clear.
    const bool has_checkpoint = fs::is_directory(staging_ / kCheckpointDir);
    if (has_checkpoint && policy_.resume) {
      adopted_ = true;
      lock_fd_ = fd.fd;
      fd.fd = -1;
    } else if (has_checkpoint && !policy_.force) {
      throw Error(shown + " has an interrupted run (its checkpoint is in " + (staging_ / kCheckpointDir).string() +
                  "): pass --resume to continue it, or --force to discard it and start again");
    } else {
      fs::remove_all(staging_);
    }
  }
  if (!adopted_) {
    if (!fs::create_directory(staging_))
      throw Error(staging_.string() + ": cannot create the staging folder: it appeared meanwhile");
    const int marker =
        ::open((staging_ / kStagingMarker).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (marker < 0) throw Error(staging_.string() + ": cannot write: " + errno_text());
    ::close(marker);
    lock_fd_ = open_dir(staging_);
    if (lock_fd_ < 0 || ::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0)
      throw Error(staging_.string() + ": cannot lock the staging folder: " + errno_text());
  }
  // A run keeps its staging folder on a signal (it may hold a checkpoint; the next write clears it otherwise).
  if (policy_.kind != OutputKind::kRun) cleanup_ = std::make_unique<CleanupOnInterrupt>(staging_);
}

StagedDir::~StagedDir() {
  cleanup_.reset();
  if (!done_) {
    std::error_code ec;
    fs::remove_all(staging_, ec);
  }
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

void StagedDir::keep() {
  done_ = true;
  cleanup_.reset();
  if (lock_fd_ >= 0) ::close(lock_fd_);
  lock_fd_ = -1;
}

void StagedDir::commit() {
  if (done_) throw Error(staging_.string() + ": already committed");
  fsync_tree(staging_);
  const fs::path parent = final_.parent_path();
  ParentLock parent_lock(parent);
  // Under the parent's lock, so that no other writer sees this folder without its marker before it moves.
  fs::remove(staging_ / kStagingMarker);
  fsync_dir(staging_);
  const std::string shown = final_.string();
  const auto st = fs::symlink_status(final_);
  if (!fs::exists(st)) {
    if (::rename(staging_.c_str(), final_.c_str()) != 0)
      throw Error(shown + ": cannot move the new folder into place: " + errno_text());
  } else {
    // OUT may have appeared or changed while this command ran: the same rules as at the start.
    if (fs::is_symlink(st) || !fs::is_directory(st))
      throw Error(shown + " appeared meanwhile and is not a folder; the new output is not written");
    if (!fs::is_empty(final_) && !is_output_of_kind(final_, policy_.kind))
      throw Error(shown + " appeared meanwhile and is not an ftmamba " + output_kind_name(policy_.kind) +
                  "; the new output is not written");
    if (::renameat2(AT_FDCWD, staging_.c_str(), AT_FDCWD, final_.c_str(), RENAME_EXCHANGE) == 0) {
      fs::remove_all(staging_);  // now the previous output
    } else if (errno == EINVAL || errno == ENOSYS) {
      // A filesystem without the exchange: OUT is missing for the moment between the two renames, and a
      // failure of the second puts the old folder back.
      const fs::path old = parent / (final_.filename().string() + ".old-" + std::to_string(::getpid()));
      if (::rename(final_.c_str(), old.c_str()) != 0)
        throw Error(shown + ": cannot move the old folder aside: " + errno_text());
      if (::rename(staging_.c_str(), final_.c_str()) != 0) {
        const std::string why = errno_text();
        ::rename(old.c_str(), final_.c_str());
        throw Error(shown + ": cannot move the new folder into place: " + why);
      }
      fs::remove_all(old);
    } else {
      throw Error(shown + ": cannot move the new folder into place: " + errno_text());
    }
  }
  fsync_dir(parent);
  done_ = true;
  cleanup_.reset();
  if (lock_fd_ >= 0) ::close(lock_fd_);
  lock_fd_ = -1;
}

}  // namespace ftmamba::io
