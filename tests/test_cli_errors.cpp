// End-to-end tests of how the ftmamba binary reports errors: one "ftmamba: error: ..." line for a usage error
// (exit code 2) and for a failure while running (exit code 1), --help still succeeding, and control characters
// from the input (a column name holding ESC) escaped, never written raw to the terminal.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "binary_runner.h"

namespace fs = std::filesystem;
using ftmamba_test::run_binary;

namespace {

constexpr int kUsage = 2, kRuntime = 1;

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

class CliErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("ftmamba_cli_errors_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }
  void write(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
  }
  // A dataset of two users and two items, users.csv's header as given.
  fs::path dataset(const std::string& users_header) {
    const fs::path d = dir / "data";
    write(d / "schema.toml",
          "[users]\nid = \"user_id\"\nnumerical = [\"age\"]\ncategorical = []\n"
          "[items]\nid = \"item_id\"\nnumerical = []\ncategorical = [\"genre\"]\n"
          "[interactions]\nuser = \"user_id\"\nitem = \"item_id\"\n");
    write(d / "users.csv", users_header + "\nU1,30\nU2,40\n");
    write(d / "items.csv", "item_id,genre\nI1,pop\nI2,rock\n");
    write(d / "interactions.csv", "user_id,item_id\nU1,I1\nU2,I2\nU1,I2\n");
    return d;
  }
  fs::path dir;
};

}  // namespace

TEST_F(CliErrors, UnknownOptionIsAUsageError) {
  const auto r = run_binary("train --data d --out o --no-such-option 1");
  EXPECT_EQ(r.code, kUsage) << r.out;
  EXPECT_TRUE(starts_with(r.out, "ftmamba: error: ")) << r.out;
  EXPECT_NE(r.out.find("--no-such-option"), std::string::npos) << r.out;
}

TEST_F(CliErrors, MissingRequiredOptionAndBadValueAreUsageErrors) {
  const auto missing = run_binary("eval");
  EXPECT_EQ(missing.code, kUsage) << missing.out;
  EXPECT_TRUE(starts_with(missing.out, "ftmamba: error: ")) << missing.out;
  const auto bad = run_binary("recommend --run " + (dir / "r").string() + " --user U1 --k many");
  EXPECT_EQ(bad.code, kUsage) << bad.out;
  EXPECT_TRUE(starts_with(bad.out, "ftmamba: error: ")) << bad.out;
  const auto none = run_binary("");
  EXPECT_EQ(none.code, kUsage) << none.out;
  EXPECT_TRUE(starts_with(none.out, "ftmamba: error: ")) << none.out;
}

TEST_F(CliErrors, HelpAndVersionSucceed) {
  const auto help = run_binary("--help");
  EXPECT_EQ(help.code, 0) << help.out;
  EXPECT_NE(help.out.find("train"), std::string::npos) << help.out;
  EXPECT_EQ(run_binary("train --help").code, 0);
  EXPECT_EQ(run_binary("--version").code, 0);
}

TEST_F(CliErrors, RuntimeErrorExitsWithOne) {
  const auto r = run_binary("eval --run " + (dir / "no-such-run").string());
  EXPECT_EQ(r.code, kRuntime) << r.out;
  EXPECT_TRUE(starts_with(r.out, "ftmamba: error: ")) << r.out;
  EXPECT_NE(r.out.find("no-such-run"), std::string::npos) << r.out;
}

TEST_F(CliErrors, ControlCharactersOfAColumnNameAreEscaped) {
  const fs::path data = dataset("user_id,\x1b[31mage\r");
  const auto r = run_binary("train --quiet --data " + data.string() + " --out " + (dir / "run").string());
  EXPECT_EQ(r.code, kRuntime) << r.out;
  EXPECT_TRUE(starts_with(r.out, "ftmamba: error: ")) << r.out;
  EXPECT_NE(r.out.find("\\x1b[31mage"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\r'), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir / "run"));
}

TEST_F(CliErrors, ControlCharactersOfAnArgumentAreEscaped) {
  const auto r = run_binary("eval --run '" + (dir / "x\x1b]0;title\x07").string() + "'");
  EXPECT_EQ(r.code, kRuntime) << r.out;
  EXPECT_NE(r.out.find("x\\x1b]0;title\\x07"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\x07'), std::string::npos) << r.out;
}
