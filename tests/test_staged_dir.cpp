// StagedDir and write_file_atomic: an output folder never destroys what ftmamba did not write, replaces an
// output of its kind only with --force and in one step, refuses a second writer, cleans up after writers
// that are gone, and hands an interrupted run's checkpoint to --resume.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "ftmamba/core/error.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/io/staged_dir.h"

namespace fs = std::filesystem;
using ftmamba::Error;
using ftmamba::io::OutputKind;
using ftmamba::io::OutputPolicy;
using ftmamba::io::StagedDir;

namespace {

class StagedDirTest : public ::testing::Test {
 protected:
  fs::path root;
  void SetUp() override {
    root = fs::temp_directory_path() / ("ftmamba_staged_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root);
    fs::create_directories(root);
  }
  void TearDown() override { fs::remove_all(root); }

  static void write(const fs::path& file, const std::string& text) {
    fs::create_directories(file.parent_path());
    std::ofstream(file) << text;
  }
  static std::string read(const fs::path& file) { return ftmamba::io::read_file(file); }
  // A finished run as ftmamba writes one, with `tag` in its config.
  static void make_run(const fs::path& dir, const std::string& tag) {
    write(dir / "config.json", tag);
    write(dir / "model.safetensors", "weights");
  }
  static std::string error_of(const std::function<void()>& f) {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
  static OutputPolicy run_policy(bool force = false, bool resume = false) {
    return {.kind = OutputKind::kRun, .force = force, .resume = resume, .inputs = {}};
  }
};

TEST_F(StagedDirTest, RefusesAFolderOfSomethingElseAndKeepsItsFiles) {
  write(root / "v" / "notes.txt", "mine");
  const std::string e = error_of([&] { StagedDir out(root / "v", run_policy(/*force=*/true)); });
  EXPECT_NE(e.find("is not empty and does not hold an ftmamba run"), std::string::npos) << e;
  EXPECT_EQ(read(root / "v" / "notes.txt"), "mine");
  EXPECT_FALSE(fs::exists(root / "v.partial"));
}

TEST_F(StagedDirTest, RefusesAFileAndASymbolicLink) {
  write(root / "f", "a file");
  EXPECT_NE(error_of([&] { StagedDir out(root / "f", run_policy(true)); }).find("exists and is not a folder"),
            std::string::npos);
  EXPECT_EQ(read(root / "f"), "a file");
  make_run(root / "target", "old");
  fs::create_directory_symlink(root / "target", root / "link");
  EXPECT_NE(error_of([&] { StagedDir out(root / "link", run_policy(true)); }).find("symbolic link"), std::string::npos);
  EXPECT_EQ(read(root / "target" / "config.json"), "old");
}

TEST_F(StagedDirTest, RefusesTheInputItsParentAndItsChildren) {
  const fs::path data = root / "data";
  write(data / "interactions.csv", "x");
  const auto policy = [&] {
    return OutputPolicy{.kind = OutputKind::kRun, .force = true, .resume = false, .inputs = {data}};
  };
  EXPECT_NE(error_of([&] { StagedDir o(data, policy()); }).find("is the input folder"), std::string::npos);
  EXPECT_NE(error_of([&] { StagedDir o(data / "run", policy()); }).find("lies inside the input folder"),
            std::string::npos);
  EXPECT_NE(error_of([&] { StagedDir o(root, policy()); }).find("contains the input folder"), std::string::npos);
  EXPECT_NE(error_of([&] { StagedDir o(data / ".." / "data", policy()); }).find("is the input folder"),
            std::string::npos);
  EXPECT_EQ(read(data / "interactions.csv"), "x");
  EXPECT_EQ(error_of([&] { StagedDir o(root / "data2", policy()); }), "");  // a sibling with a longer name is fine
}

TEST_F(StagedDirTest, ReplacesARunOnlyWithForceAndInOneStep) {
  make_run(root / "r", "old");
  EXPECT_NE(error_of([&] { StagedDir o(root / "r", run_policy()); }).find("pass --force"), std::string::npos);
  EXPECT_EQ(read(root / "r" / "config.json"), "old");
  {
    StagedDir out(root / "r", run_policy(/*force=*/true));
    EXPECT_EQ(out.path(), root / "r.partial");
    make_run(out.path(), "new");
    EXPECT_EQ(read(root / "r" / "config.json"), "old");  // untouched until the commit
    out.commit();
  }
  EXPECT_EQ(read(root / "r" / "config.json"), "new");
  EXPECT_FALSE(fs::exists(root / "r" / ".ftmamba-staging"));
  for (const auto& e : fs::directory_iterator(root)) EXPECT_EQ(e.path().filename(), "r") << e.path();
}

TEST_F(StagedDirTest, AnEmptyFolderIsFilledAndAFailureLeavesNothing) {
  fs::create_directories(root / "empty");
  {
    StagedDir out(root / "empty", run_policy());
    make_run(out.path(), "new");
    out.commit();
  }
  EXPECT_EQ(read(root / "empty" / "config.json"), "new");
  {
    StagedDir out(root / "never", run_policy());
    make_run(out.path(), "half");
  }  // no commit: as a command that threw
  EXPECT_FALSE(fs::exists(root / "never"));
  EXPECT_FALSE(fs::exists(root / "never.partial"));
}

TEST_F(StagedDirTest, ASecondWriterIsRefusedWhileTheFirstWrites) {
  StagedDir first(root / "r", run_policy());
  const std::string e = error_of([&] { StagedDir second(root / "r", run_policy(true)); });
  EXPECT_NE(e.find("is being written by another ftmamba process"), std::string::npos) << e;
  make_run(first.path(), "first");
  first.commit();
  EXPECT_EQ(read(root / "r" / "config.json"), "first");
}

TEST_F(StagedDirTest, AWriterWhoseMarkerIsGoneStillHoldsItsFolder) {
  // The first writer is between dropping its marker and the rename of its commit: a second writer is told the
  // folder is being written, not that it is someone else's.
  StagedDir first(root / "r", run_policy());
  fs::remove(first.path() / ".ftmamba-staging");
  const std::string e = error_of([&] { StagedDir second(root / "r", run_policy(true)); });
  EXPECT_NE(e.find("is being written by another ftmamba process"), std::string::npos) << e;
  make_run(first.path(), "first");
  first.commit();
  EXPECT_EQ(read(root / "r" / "config.json"), "first");
}

TEST_F(StagedDirTest, LeftoversOfWritersThatAreGoneAreCleanedUp) {
  // An unlocked staging folder without a checkpoint (a writer killed early), and the folders of the earlier
  // "OUT.partial-PID" scheme whose process is gone.
  write(root / "r.partial" / ".ftmamba-staging", "");
  write(root / "r.partial" / "config.json", "stale");
  pid_t dead = 999999;
  while (::kill(dead, 0) == 0 || errno == EPERM) --dead;
  write(root / ("r.partial-" + std::to_string(dead)) / "x", "stale");
  write(root / ("r.old-" + std::to_string(dead)) / "x", "stale");
  write(root / ("r.partial-" + std::to_string(::getpid())) / "x", "alive");  // this process: kept
  {
    StagedDir out(root / "r", run_policy());
    EXPECT_FALSE(out.adopted());
    EXPECT_FALSE(fs::exists(out.path() / "config.json"));
    make_run(out.path(), "new");
    out.commit();
  }
  EXPECT_FALSE(fs::exists(root / ("r.partial-" + std::to_string(dead))));
  EXPECT_FALSE(fs::exists(root / ("r.old-" + std::to_string(dead))));
  EXPECT_TRUE(fs::exists(root / ("r.partial-" + std::to_string(::getpid()))));
}

TEST_F(StagedDirTest, AnInterruptedRunsCheckpointGoesToResumeOrForceOnly) {
  {
    StagedDir out(root / "r", run_policy());
    write(out.path() / "checkpoint" / "state.safetensors", "ckpt");
    out.keep();  // as the trainer does on a signal
  }
  const std::string e = error_of([&] { StagedDir o(root / "r", run_policy()); });
  EXPECT_NE(e.find("pass --resume to continue it, or --force"), std::string::npos) << e;
  {
    StagedDir resumed(root / "r", run_policy(false, /*resume=*/true));
    EXPECT_TRUE(resumed.adopted());
    EXPECT_EQ(read(resumed.path() / "checkpoint" / "state.safetensors"), "ckpt");
    resumed.keep();
  }
  {
    StagedDir fresh(root / "r", run_policy(/*force=*/true));
    EXPECT_FALSE(fresh.adopted());
    EXPECT_FALSE(fs::exists(fresh.path() / "checkpoint"));
  }
  // A folder named like a staging folder that ftmamba did not make is never touched.
  write(root / "s.partial" / "mine.txt", "mine");
  EXPECT_NE(error_of([&] { StagedDir o(root / "s", run_policy(true, true)); }).find("not an ftmamba staging folder"),
            std::string::npos);
  EXPECT_EQ(read(root / "s.partial" / "mine.txt"), "mine");
}

TEST_F(StagedDirTest, ResumingNeedsNoSecondForceForARunItReplaces) {
  make_run(root / "r", "old");
  {
    StagedDir out(root / "r", run_policy(/*force=*/true));
    write(out.path() / "checkpoint" / "state.safetensors", "ckpt");
    out.keep();
  }
  StagedDir resumed(root / "r", run_policy(false, /*resume=*/true));
  EXPECT_TRUE(resumed.adopted());
  make_run(resumed.path(), "new");
  resumed.commit();
  EXPECT_EQ(read(root / "r" / "config.json"), "new");
}

TEST_F(StagedDirTest, DatasetsAreTheirOwnKind) {
  make_run(root / "r", "run");
  const OutputPolicy dataset{.kind = OutputKind::kDataset, .force = true, .resume = false, .inputs = {}};
  EXPECT_NE(error_of([&] { StagedDir o(root / "r", dataset); }).find("does not hold an ftmamba dataset"),
            std::string::npos);
  write(root / "d" / "dataset.json", "{}");
  StagedDir o(root / "d", dataset);
  write(o.path() / "dataset.json", "{\"new\": 1}");
  o.commit();
  EXPECT_EQ(read(root / "d" / "dataset.json"), "{\"new\": 1}");
}

TEST_F(StagedDirTest, CheckAloneCreatesNothing) {
  StagedDir::check(root / "new", run_policy());
  EXPECT_FALSE(fs::exists(root / "new"));
  EXPECT_FALSE(fs::exists(root / "new.partial"));
}

TEST_F(StagedDirTest, AtomicWriteReplacesALinkNotItsTarget) {
  write(root / "target.txt", "keep me");
  fs::create_symlink(root / "target.txt", root / "out.txt");
  ftmamba::io::write_file_atomic(root / "out.txt", "new");
  EXPECT_EQ(read(root / "target.txt"), "keep me");
  EXPECT_FALSE(fs::is_symlink(root / "out.txt"));
  EXPECT_EQ(read(root / "out.txt"), "new");
  for (const auto& e : fs::directory_iterator(root))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
}

TEST_F(StagedDirTest, AtomicWriteNamesThePathWhenItCannotWrite) {
  write(root / "file", "x");
  const std::string e = error_of([&] { ftmamba::io::write_file_atomic(root / "file" / "inside.txt", "y"); });
  EXPECT_NE(e.find("file"), std::string::npos) << e;
  EXPECT_FALSE(e.empty());
}

}  // namespace
