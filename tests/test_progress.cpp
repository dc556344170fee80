// Tests for ProgressBar: what it draws on a terminal (a pseudo-terminal here) for training steps and for
// bytes of a file, its throttling, and off a terminal: silent, or a plain line per interval in log mode; and
// fit_progress_line, which keeps the line within the terminal's width.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>

#include "ftmamba/core/progress.h"

namespace fs = std::filesystem;
using ftmamba::fit_progress_line;
using ftmamba::ProgressBar;
using Output = ProgressBar::Output;

namespace {

// Points stderr (fd 2) at another file for the life of the object.
class StderrTo {
 public:
  explicit StderrTo(int fd) : saved_(::dup(STDERR_FILENO)) {
    std::fflush(stderr);
    ::dup2(fd, STDERR_FILENO);
  }
  ~StderrTo() {
    std::fflush(stderr);
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
  }

 private:
  int saved_;
};

// Everything written to stderr while `f` runs, with stderr a regular file (not a terminal).
template <class F>
std::string captured_off_terminal(F f) {
  const fs::path p = fs::temp_directory_path() / ("ftmamba_progress_" + std::to_string(::getpid()));
  const int fd = ::open(p.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0600);
  EXPECT_GE(fd, 0);
  {
    StderrTo to(fd);
    EXPECT_FALSE(ProgressBar::stderr_is_terminal());
    f();
  }
  ::close(fd);
  std::stringstream ss;
  ss << std::ifstream(p).rdbuf();
  fs::remove(p);
  return ss.str();
}

// A pseudo-terminal `columns` wide: stderr is its terminal side while `f` runs; returns what arrived on the
// other side. Empty optional when the machine has no pseudo-terminals.
template <class F>
std::optional<std::string> captured_on_terminal(F f, unsigned short columns = 120) {
  const int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || ::grantpt(master) != 0 || ::unlockpt(master) != 0) return std::nullopt;
  const int slave = ::open(::ptsname(master), O_RDWR | O_NOCTTY);
  if (slave < 0) return std::nullopt;
  winsize ws{};
  ws.ws_row = 24;
  ws.ws_col = columns;
  EXPECT_EQ(::ioctl(slave, TIOCSWINSZ, &ws), 0);
  {
    StderrTo to(slave);
    EXPECT_TRUE(ProgressBar::stderr_is_terminal());
    f();
  }
  ::close(slave);
  std::string out;
  char buf[4096];
  pollfd pfd{master, POLLIN, 0};
  while (::poll(&pfd, 1, 200) > 0 && (pfd.revents & POLLIN)) {
    const ssize_t n = ::read(master, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(master);
  return out;
}

// The 24-character bar, `filled` of it done, as a regex.
std::string bar(int filled) {
  std::string b(static_cast<size_t>(filled), '=');
  if (filled < 24) b += '>' + std::string(static_cast<size_t>(23 - filled), ' ');
  return "\\[" + b + "\\]";
}

}  // namespace

TEST(ProgressBar, TrainingStepsOnATerminal) {
  const auto out = captured_on_terminal([] {
    ProgressBar bar("epoch 1/2", 4, true);
    bar.update(1, 512, 0.5);    // the first update draws
    bar.update(2, 1024, 0.4);   // within 100 ms of it: skipped (unless the machine stalled that long)
    bar.update(4, 2048, 0.25);  // the last step always draws
    bar.finish();
  });
  if (!out) GTEST_SKIP() << "no pseudo-terminal";
  const std::regex want("\\repoch 1/2 " + bar(6) +
                        " 1/4  [0-9]+ samples/s  loss 0\\.5000  ETA [0-9]+:[0-9]{2}\x1b\\[K"
                        "(\\repoch 1/2 " +
                        bar(12) +
                        " 2/4  [0-9]+ samples/s  loss 0\\.4000  ETA [0-9]+:[0-9]{2}\x1b\\[K)?"
                        "\\repoch 1/2 " +
                        bar(24) + " 4/4  [0-9]+ samples/s  loss 0\\.2500  ETA 0:00\x1b\\[K\\r\x1b\\[K");
  EXPECT_TRUE(std::regex_match(*out, want)) << *out;
}

TEST(ProgressBar, BytesOfAFileOnATerminal) {
  const auto out = captured_on_terminal([] {
    ProgressBar bar("reading a.csv", 200'000'000, true, Output::kTerminalOrLog);
    bar.update_bytes(50'000'000, 1'000'000);
  });  // the destructor clears the line
  if (!out) GTEST_SKIP() << "no pseudo-terminal";
  const std::regex want("\\rreading a\\.csv " + bar(6) +
                        "  25%  50 / 200 MB  [0-9]+\\.[0-9]{2} M rows/s  ETA [0-9]+:[0-9]{2}\x1b\\[K\\r\x1b\\[K");
  EXPECT_TRUE(std::regex_match(*out, want)) << *out;
}

TEST(ProgressBar, OffATerminalSilentUnlessLogging) {
  EXPECT_EQ(captured_off_terminal([] {
              ProgressBar bar("epoch 1/1", 10, true);  // training: terminal only
              bar.update(10, 100, 0.1);
              ProgressBar bytes("reading a.csv", 100, true);  // kTerminal
              bytes.update_bytes(50, 5);
              ProgressBar off("reading b.csv", 100, false, Output::kTerminalOrLog, std::chrono::milliseconds(0));
              off.update_bytes(50, 5);
            }),
            "");
  // Log mode: nothing before the first interval has passed.
  EXPECT_EQ(captured_off_terminal([] {
              ProgressBar bar("reading a.csv", 100, true, Output::kTerminalOrLog);
              bar.update_bytes(10, 1);
              bar.update_bytes(20, 2);
            }),
            "");
}

TEST(ProgressBar, OffATerminalALinePerIntervalInLogMode) {
  const std::string out = captured_off_terminal([] {
    ProgressBar bar("pass 1 t.csv", 300'000'000, true, Output::kTerminalOrLog, std::chrono::milliseconds(0));
    bar.update_bytes(150'000'000, 2'000'000);
    bar.update_bytes(300'000'000, 4'000'000);
    bar.finish();  // nothing to clear in a log
  });
  const std::regex want(
      "pass 1 t\\.csv:  50%  150 / 300 MB  [0-9]+\\.[0-9]{2} M rows/s  ETA [0-9]+:[0-9]{2}\n"
      "pass 1 t\\.csv: 100%  300 / 300 MB  [0-9]+\\.[0-9]{2} M rows/s  ETA 0:00\n");
  EXPECT_TRUE(std::regex_match(out, want)) << out;
}

TEST(ProgressBar, FormatDuration) {
  EXPECT_EQ(ftmamba::format_duration(0), "0:00");
  EXPECT_EQ(ftmamba::format_duration(125.4), "2:05");
  EXPECT_EQ(ftmamba::format_duration(3723), "1:02:03");
  EXPECT_EQ(ftmamba::format_duration(-5), "0:00");
}

namespace {

// A training line's fields as ProgressBar::update makes them, at the widest they get in practice.
const std::vector<ftmamba::ProgressField> kWideTrainingFields = {
    {"1234/1234", 4}, {"123456 samples/s", 1}, {"loss 0.4321", 2}, {"ETA 12:34", 3}};

}  // namespace

TEST(FitProgressLine, At120ColumnsEverythingFitsWithTheFullBar) {
  EXPECT_EQ(fit_progress_line("epoch 10/10", 0.5, kWideTrainingFields, 120),
            "epoch 10/10 [============>           ] 1234/1234  123456 samples/s  loss 0.4321  ETA 12:34");
}

TEST(FitProgressLine, At80ColumnsTheBarNarrows) {
  // label 11 + fields 51 + 2 spaces + 2 brackets leave 13 of the 79 usable columns for the bar.
  const std::string line = fit_progress_line("epoch 10/10", 0.5, kWideTrainingFields, 80);
  EXPECT_EQ(line, "epoch 10/10 [======>      ] 1234/1234  123456 samples/s  loss 0.4321  ETA 12:34");
  EXPECT_EQ(line.size(), 79u);
}

TEST(FitProgressLine, At40ColumnsTheBarAndTheLeastUsefulFieldsGo) {
  // No room for an 8-character bar; samples/s goes first, then the loss; the step and the ETA stay.
  EXPECT_EQ(fit_progress_line("epoch 10/10", 0.5, kWideTrainingFields, 40), "epoch 10/10 1234/1234  ETA 12:34");
  // Exactly 39 columns without the bar: every field stays (a field says more than the bar).
  EXPECT_EQ(fit_progress_line("epoch 1/2", 0.25, {{"1/4", 4}, {"9 samples/s", 1}, {"loss 0.5000", 2}}, 40),
            "epoch 1/2 1/4  9 samples/s  loss 0.5000");
}

TEST(FitProgressLine, NeverWiderThanColumnsMinusOne) {
  const std::string label = "pass 2 transactions_train.csv";
  for (int columns = 1; columns <= 130; ++columns)
    for (double done : {0.0, 0.37, 1.0}) {
      const std::string line = fit_progress_line(
          label, done, {{" 42%", 4}, {"1234 / 3456 MB", 2}, {"12.34 M rows/s", 1}, {"ETA 1:02:03", 3}}, columns);
      EXPECT_LE(line.size(), static_cast<size_t>(std::max(columns - 1, 1))) << columns << ": " << line;
      // What the line is about comes first, cut only when the terminal is narrower than the label.
      const size_t shown = std::min(line.size(), label.size());
      EXPECT_EQ(line.substr(0, shown), label.substr(0, shown)) << columns << ": " << line;
      if (columns > 60) {
        EXPECT_NE(line.find("ETA 1:02:03"), std::string::npos) << columns << ": " << line;
      }
    }
}

TEST(FitProgressLine, TerminalColumnsReadsTheTerminalThenColumnsThen80) {
  const auto out = captured_on_terminal([] { EXPECT_EQ(ftmamba::terminal_columns(STDERR_FILENO), 57); }, 57);
  if (!out) GTEST_SKIP() << "no pseudo-terminal";
  const int not_a_terminal = ::open("/dev/null", O_WRONLY);
  ASSERT_GE(not_a_terminal, 0);
  const char* saved = std::getenv("COLUMNS");
  const std::string saved_value = saved ? saved : "";
  ::setenv("COLUMNS", "132", 1);
  EXPECT_EQ(ftmamba::terminal_columns(not_a_terminal), 132);
  ::setenv("COLUMNS", "wide", 1);
  EXPECT_EQ(ftmamba::terminal_columns(not_a_terminal), 80);
  ::unsetenv("COLUMNS");
  EXPECT_EQ(ftmamba::terminal_columns(not_a_terminal), 80);
  if (saved) ::setenv("COLUMNS", saved_value.c_str(), 1);
  ::close(not_a_terminal);
}

TEST(ProgressBar, ANarrowTerminalGetsALineThatFits) {
  const auto out = captured_on_terminal(
      [] {
        ProgressBar bar("epoch 1/2", 4, true);
        bar.update(4, 2048, 0.25);
      },
      40);
  if (!out) GTEST_SKIP() << "no pseudo-terminal";
  const std::regex want("\repoch 1/2 4/4  loss 0\\.2500  ETA 0:00\x1b\\[K\\r\x1b\\[K");
  EXPECT_TRUE(std::regex_match(*out, want)) << *out;
}
