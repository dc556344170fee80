// End-to-end tests of what `ftmamba train` leaves on a terminal and in a pipe. In tmux at 80 columns the progress
// line must fit (a line that wraps leaves one stale row per redraw: hundreds of rows per epoch), so the pane holds
// no line wider than 80 columns, even with wrapped rows joined, and only a screenful or so of lines. Into a pipe
// training writes no redraws at all (no carriage returns, no erase-line sequences). Skips without tmux.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "binary_runner.h"

namespace fs = std::filesystem;
using ftmamba_test::run_binary;

namespace {

constexpr int kColumns = 80;
// A small, fast model; the batch size gives a few dozen steps per epoch, so the line is redrawn several times.
const std::string kTinyTraining =
    " --set train.epochs=2 --set train.batch_size=64 --set model.d_token=8 --set model.embed_dim=8"
    " --set model.n_layers=1 --set train.valid_users=100";

// stdout of a shell command.
std::string shell_output(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  while (!lines.empty() && lines.back().empty()) lines.pop_back();  // the pane's unused rows
  return lines;
}

class TerminalOutput : public ::testing::Test {
 protected:
  static fs::path dir;
  static void SetUpTestSuite() {
    // A short name: `train` ends with the run folder's absolute path, which must fit the 80 columns too.
    dir = fs::temp_directory_path() / ("ftm_tty_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    const auto g = run_binary("generate --preset spotify --pairs 3000 --seed 4 --out " + (dir / "d").string());
    ASSERT_EQ(g.code, 0) << g.out;
  }
  static void TearDownTestSuite() { fs::remove_all(dir); }
};
fs::path TerminalOutput::dir;

}  // namespace

TEST_F(TerminalOutput, TrainingInTmuxAt80ColumnsNeverWraps) {
  if (std::system("command -v tmux >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "tmux not found: apt-get install tmux (scripts/install-deps does)";
  // A server of its own (-S), so that no other tmux session is touched. Short relative paths: the run's own lines
  // then fit 80 columns too. The shell stays after training, so that the pane can be read.
  const std::string tmux = "tmux -S " + (dir / "tmux.sock").string();
  const std::string train = "cd " + dir.string() + " && " + FTMAMBA_BINARY + " train --data d --out r" + kTinyTraining +
                            "; echo ftmamba-exit=$?; sleep 600";
  ASSERT_EQ(std::system((tmux + " new-session -d -x " + std::to_string(kColumns) + " -y 24 '" + train + "'").c_str()),
            0);
  const std::string capture = tmux + " capture-pane -p -J -S - -t 0";
  std::string pane;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  while (std::chrono::steady_clock::now() < deadline) {
    pane = shell_output(capture);
    if (pane.find("ftmamba-exit=") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  const std::string rows = shell_output(tmux + " capture-pane -p -S - -t 0");  // wrapped rows not joined
  shell_output(tmux + " kill-server 2>&1");
  ASSERT_NE(pane.find("ftmamba-exit=0"), std::string::npos) << pane;

  const auto lines = lines_of(pane);
  for (const auto& line : lines) {
    EXPECT_LE(line.size(), static_cast<size_t>(kColumns)) << "a line wrapped:\n" << line;
    EXPECT_EQ(line.find("samples/s  loss"), std::string::npos) << "a stale progress line:\n" << line;
  }
  EXPECT_EQ(lines_of(rows).size(), lines.size()) << "wrapped rows:\n" << rows;
  // 3 setup lines, 2 epoch lines, the two metric tables (about 35 lines), the run line and a warning if any
  // (4 lines): about 50. A line that wraps adds a row per redraw.
  EXPECT_LE(lines.size(), 70u) << pane;
  EXPECT_NE(pane.find("epoch   2  loss"), std::string::npos) << pane;
}

TEST_F(TerminalOutput, TrainingIntoAPipeWritesNoRedraws) {
  const auto r =
      run_binary("train --data " + (dir / "d").string() + " --out " + (dir / "piped").string() + kTinyTraining);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.find('\r'), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("\x1b[K"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("epoch   2  loss"), std::string::npos) << r.out;  // the per-epoch lines stay
}
