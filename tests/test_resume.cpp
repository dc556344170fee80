// Kill and resume, through the binary: `train` killed with SIGKILL at random moments and resumed with
// --resume ends with the very bytes of an uninterrupted run; SIGINT stops it with a checkpoint and exit
// code 130; a resume with another config is refused.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "binary_runner.h"
#include "ftmamba/io/atomic_file.h"

namespace fs = std::filesystem;
using ftmamba_test::run_binary;

namespace {

// Starts the binary with `args` (split on spaces), its output to `log`.
pid_t start(const std::vector<std::string>& args, const fs::path& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    std::vector<char*> argv = {const_cast<char*>(FTMAMBA_BINARY)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(FTMAMBA_BINARY, argv.data());
    ::_exit(127);
  }
  return pid;
}

// Waits up to `seconds` for the child; -1 while it still runs, else its exit code (128 + signal if killed).
int wait_for(pid_t pid, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  for (;;) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (std::chrono::steady_clock::now() >= end) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

class Resume : public ::testing::Test {
 protected:
  static fs::path dir, data, reference;
  static double reference_seconds;
  static std::vector<std::string> train_args(const fs::path& out) {
    return {"train",       "--data",
            data.string(), "--out",
            out.string(),  "--quiet",
            "--set",       "train.epochs=3",
            "--set",       "train.batch_size=128",
            "--set",       "model.d_token=16",
            "--set",       "model.embed_dim=16",
            "--set",       "train.patience=0",
            "--set",       "train.checkpoint_steps=2",
            "--set",       "train.valid_users=300"};
  }
  static void SetUpTestSuite() {
    dir = fs::temp_directory_path() / ("ftmamba_resume_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    data = dir / "data";
    reference = dir / "reference";
    const auto g = run_binary("generate --preset spotify --pairs 4000 --seed 3 --out " + data.string());
    ASSERT_EQ(g.code, 0) << g.out;
    const auto t0 = std::chrono::steady_clock::now();
    const pid_t pid = start(train_args(reference), dir / "reference.log");
    ASSERT_EQ(wait_for(pid, 600), 0) << ftmamba::io::read_file(dir / "reference.log");
    reference_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  static void TearDownTestSuite() { fs::remove_all(dir); }

  static void expect_same_as_reference(const fs::path& run) {
    using ftmamba::io::read_file;
    EXPECT_EQ(read_file(run / "model.safetensors"), read_file(reference / "model.safetensors"));
    const auto losses = [](const fs::path& r) {
      std::vector<double> l;
      std::istringstream in(read_file(r / "history.jsonl"));
      for (std::string line; std::getline(in, line);) l.push_back(nlohmann::json::parse(line)["loss"].get<double>());
      return l;
    };
    EXPECT_EQ(losses(run), losses(reference));
    const auto test = [](const fs::path& r) { return nlohmann::json::parse(read_file(r / "metrics.json"))["test"]; };
    EXPECT_EQ(test(run), test(reference));
    EXPECT_FALSE(fs::exists(run.string() + ".partial"));
  }
};
fs::path Resume::dir, Resume::data, Resume::reference;
double Resume::reference_seconds = 0;

TEST_F(Resume, KilledAtRandomMomentsEndsBitwiseIdentical) {
  const fs::path out = dir / "killed";
  const fs::path log = dir / "killed.log";
  std::mt19937 rng(12345);
  std::uniform_real_distribution<double> moment(0.15, 0.85);
  int kills = 0;
  for (int attempt = 0; attempt < 40; ++attempt) {
    auto args = train_args(out);
    args.push_back("--resume");
    const pid_t pid = start(args, log);
    if (kills == 3) {
      ASSERT_EQ(wait_for(pid, 600), 0) << ftmamba::io::read_file(log);
      break;
    }
    int code = wait_for(pid, moment(rng) * reference_seconds);
    if (code == -1) {
      ::kill(pid, SIGKILL);
      code = wait_for(pid, 60);
      // A kill that lands after the run was committed (while it prints its tables) finds a finished run:
      // that counts as finishing before the kill.
      if (code == 128 + SIGKILL && fs::exists(out / "metrics.json")) code = 0;
      if (code == 128 + SIGKILL) {
        ++kills;
        continue;
      }
    }
    // It finished before its kill: start again from nothing, for the kills still to come.
    ASSERT_EQ(code, 0) << ftmamba::io::read_file(log);
    fs::remove_all(out);
  }
  EXPECT_GE(kills, 3);
  const std::string text = ftmamba::io::read_file(log);
  EXPECT_NE(text.find("resuming from the checkpoint"), std::string::npos) << text;
  expect_same_as_reference(out);
}

TEST_F(Resume, SigintStopsWithACheckpointAndExitCode130) {
  const fs::path out = dir / "interrupted";
  const pid_t pid = start(train_args(out), dir / "interrupted.log");
  const fs::path checkpoint = fs::path(out.string() + ".partial") / "checkpoint" / "state.safetensors";
  for (int i = 0; i < 60000 && !fs::exists(checkpoint); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(fs::exists(checkpoint));
  ::kill(pid, SIGINT);
  EXPECT_EQ(wait_for(pid, 120), 130) << ftmamba::io::read_file(dir / "interrupted.log");
  EXPECT_NE(ftmamba::io::read_file(dir / "interrupted.log").find("--resume"), std::string::npos);
  EXPECT_TRUE(fs::exists(checkpoint));
  EXPECT_FALSE(fs::exists(out));
  // Without --resume the checkpoint is not thrown away silently.
  std::string plain;
  for (const auto& a : train_args(out)) plain += a + " ";
  const auto refused = run_binary(plain);
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.out.find("pass --resume"), std::string::npos) << refused.out;
  // With it, the run ends as if never stopped.
  const auto resumed = run_binary(plain + "--resume");
  ASSERT_EQ(resumed.code, 0) << resumed.out;
  expect_same_as_reference(out);
}

TEST_F(Resume, ResumingWithAnotherConfigIsRefused) {
  const fs::path out = dir / "changed";
  const pid_t pid = start(train_args(out), dir / "changed.log");
  const fs::path checkpoint = fs::path(out.string() + ".partial") / "checkpoint" / "state.safetensors";
  for (int i = 0; i < 60000 && !fs::exists(checkpoint); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ::kill(pid, SIGKILL);
  wait_for(pid, 60);
  std::string plain;
  for (const auto& a : train_args(out)) plain += a + " ";
  const auto r = run_binary(plain + "--resume --set train.lr=0.01");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("another config or data"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/config/train/lr"), std::string::npos) << r.out;
}

}  // namespace
