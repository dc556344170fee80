// Tests the run cache (experiments/run_cache.h): which argument lists make the same run, and that a finished run
// is reused, while a changed one, an unfinished one or --force starts the child again. The child is /bin/sh
// standing in for ftmamba: it counts its starts and writes metrics.json as a finished run does.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "ftmamba/core/error.h"
#include "ftmamba/experiments/run_cache.h"
#include "ftmamba/io/atomic_file.h"

namespace fs = std::filesystem;
using ftmamba::experiments::DeviceMatters;
using ftmamba::experiments::RunCache;
using ftmamba::experiments::RunRecord;
using ftmamba::experiments::RunRequest;
using ftmamba::experiments::same_run;

namespace {

using Args = std::vector<std::string>;

TEST(SameRun, QuietNeverMakesARunDifferent) {
  const Args a = {"train", "--data", "d", "--quiet", "--device", "cpu"};
  const Args b = {"train", "--data", "d", "--device", "cpu"};
  EXPECT_TRUE(same_run(a, b, DeviceMatters::kNo));
  EXPECT_TRUE(same_run(a, b, DeviceMatters::kYes));
}

TEST(SameRun, TheDeviceMattersOnlyWhenAsked) {
  const Args cpu = {"train", "--data", "d", "--device", "cpu", "--set", "x=1"};
  const Args gpu = {"train", "--data", "d", "--device", "cuda:0", "--set", "x=1"};
  EXPECT_TRUE(same_run(cpu, gpu, DeviceMatters::kNo));
  EXPECT_FALSE(same_run(cpu, gpu, DeviceMatters::kYes));
  // Only the device's own value is dropped: the option after it still counts.
  const Args other = {"train", "--data", "d", "--device", "cuda:0", "--set", "x=2"};
  EXPECT_FALSE(same_run(cpu, other, DeviceMatters::kNo));
  // A --device at the very end without a value (a damaged record) is dropped, not read past the end.
  EXPECT_TRUE(same_run({"train", "--device"}, {"train"}, DeviceMatters::kNo));
}

TEST(SameRun, TheThreadsMatterOnlyWhereTheDeviceDoes) {
  const Args one = {"train", "--data", "d", "--device", "cpu", "--threads", "1", "--set", "x=1"};
  const Args four = {"train", "--data", "d", "--device", "cpu", "--threads", "4", "--set", "x=1"};
  const Args none = {"train", "--data", "d", "--device", "cpu", "--set", "x=1"};
  EXPECT_TRUE(same_run(one, four, DeviceMatters::kNo));
  EXPECT_TRUE(same_run(one, none, DeviceMatters::kNo));
  EXPECT_FALSE(same_run(one, four, DeviceMatters::kYes));
  // Only the count is dropped: the option after it still counts.
  EXPECT_FALSE(
      same_run(one, {"train", "--data", "d", "--device", "cpu", "--threads", "1", "--set", "x=2"}, DeviceMatters::kNo));
}

TEST(SameRun, AnyOtherArgumentOrItsOrderMakesADifferentRun) {
  EXPECT_FALSE(same_run({"train", "--set", "a=1", "--set", "b=2"}, {"train", "--set", "b=2", "--set", "a=1"},
                        DeviceMatters::kNo));
  EXPECT_FALSE(same_run({"train", "--model", "ft-mamba"}, {"train", "--model", "ft-transformer"}, DeviceMatters::kNo));
  EXPECT_FALSE(same_run({"train"}, {"train", "--full"}, DeviceMatters::kNo));
  EXPECT_TRUE(same_run({"train", "--model", "ft-mamba"}, {"train", "--model", "ft-mamba"}, DeviceMatters::kYes));
}

TEST(RunRecord, RoundTripsThroughItsFile) {
  const fs::path f = fs::temp_directory_path() / ("ftmamba_run_record_" + std::to_string(::getpid()) + ".json");
  const RunRecord r{{"train", "--data", "d"}, 812.5, 36.25};
  ftmamba::experiments::write_run_record(f, r);
  const auto j = nlohmann::json::parse(ftmamba::io::read_file(f));
  EXPECT_EQ(j["argv"], nlohmann::json({"train", "--data", "d"}));
  EXPECT_EQ(j["peak_rss_mib"], 812.5);
  EXPECT_EQ(j["wall_seconds"], 36.25);
  const RunRecord back = ftmamba::experiments::read_run_record(f);
  EXPECT_EQ(back.argv, r.argv);
  EXPECT_EQ(back.peak_rss_mib, r.peak_rss_mib);
  EXPECT_EQ(back.wall_seconds, r.wall_seconds);
  ftmamba::io::write_file_atomic(f, "{\"argv\": [");
  EXPECT_THROW(ftmamba::experiments::read_run_record(f), ftmamba::Error);
  fs::remove(f);
}

class RunCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("ftmamba_run_cache_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir / "run");
  }
  void TearDown() override { fs::remove_all(dir); }

  // A child that records its start in STARTS, then finishes the run (metrics.json) unless told to fail. `extra`
  // stands for the arguments that make runs differ; the shell ignores it.
  RunRequest request(const std::string& extra, bool fail = false) const {
    const std::string script = "echo started >> " + (dir / "starts").string() + "; " +
                               (fail ? std::string("exit 3") : "echo {} > " + (dir / "run" / "metrics.json").string());
    return {.argv = {"-c", script, "sh", extra},
            .run_dir = dir / "run",
            .log = dir / "child.log",
            .label = "[1/2] m seed 1",
            .failure = "training m seed 1"};
  }
  RunCache cache(DeviceMatters device = DeviceMatters::kNo, bool force = false) {
    return RunCache({.program = "/bin/sh", .device = device, .force = force, .next_time = "the next compare"},
                    [this](const std::string& line) { lines.push_back(line); });
  }
  int starts() const {
    if (!fs::exists(dir / "starts")) return 0;
    const std::string text = ftmamba::io::read_file(dir / "starts");
    return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  }

  fs::path dir;
  std::vector<std::string> lines;
};

TEST_F(RunCacheTest, AFinishedRunWithTheSameArgumentsIsReused) {
  const RunRecord first = cache().run(request("a"));
  EXPECT_EQ(starts(), 1);
  EXPECT_EQ(first.argv, request("a").argv);
  EXPECT_GT(first.peak_rss_mib, 0.0);
  ASSERT_TRUE(fs::exists(dir / "run" / "compare.json"));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "[1/2] m seed 1: training (log " + (dir / "child.log").string() + ")");

  const RunRecord again = cache().run(request("a"));
  EXPECT_EQ(starts(), 1);  // not started again
  EXPECT_EQ(again.peak_rss_mib, first.peak_rss_mib);
  EXPECT_EQ(again.wall_seconds, first.wall_seconds);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1], "[1/2] m seed 1: reusing " + (dir / "run").string());
}

TEST_F(RunCacheTest, ChangedArgumentsForceOrAnUnfinishedRunStartTheChildAgain) {
  cache().run(request("a"));
  cache().run(request("b"));  // other arguments
  EXPECT_EQ(starts(), 2);
  EXPECT_EQ(ftmamba::experiments::read_run_record(dir / "run" / "compare.json").argv, request("b").argv);
  cache(DeviceMatters::kNo, /*force=*/true).run(request("b"));
  EXPECT_EQ(starts(), 3);
  EXPECT_FALSE(cache(DeviceMatters::kNo, true).finished(request("b")).has_value());
  fs::remove(dir / "run" / "metrics.json");  // interrupted before it finished
  EXPECT_FALSE(cache().finished(request("b")).has_value());
  cache().run(request("b"));
  EXPECT_EQ(starts(), 4);
}

TEST_F(RunCacheTest, TheDeviceDecidesReuseOnlyWhenItMatters) {
  RunRequest on_cpu = request("a"), on_gpu = request("a");
  on_cpu.argv.insert(on_cpu.argv.end(), {"--device", "cpu"});
  on_gpu.argv.insert(on_gpu.argv.end(), {"--device", "cuda:0"});
  cache().run(on_cpu);
  EXPECT_TRUE(cache(DeviceMatters::kNo).finished(on_gpu).has_value());
  EXPECT_FALSE(cache(DeviceMatters::kYes).finished(on_gpu).has_value());
  EXPECT_TRUE(cache(DeviceMatters::kYes).finished(on_cpu).has_value());
}

TEST_F(RunCacheTest, AFailedChildIsAnErrorThatNamesItsLogAndLeavesNoRecord) {
  try {
    cache().run(request("a", /*fail=*/true));
    FAIL() << "no error";
  } catch (const ftmamba::Error& e) {
    EXPECT_EQ(std::string(e.what()), "training m seed 1 failed (exit 3); see " + (dir / "child.log").string() +
                                         ". Finished runs are kept and reused on the next compare.");
  }
  EXPECT_FALSE(fs::exists(dir / "run" / "compare.json"));
  EXPECT_EQ(starts(), 1);
}

}  // namespace
