// defines: ftmamba_test::ScratchDirTest, a GoogleTest fixture that gives each test an empty folder of its own
// (under the system's temporary folder, named after the process, the suite and the test, so parallel ctest runs
// never share one), removed after the test, and write(), which puts a file in it byte for byte.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace ftmamba_test {

class ScratchDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("ftmamba_" + std::string(info->test_suite_name()) + "_" + std::to_string(::getpid()) + "_" + info->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // dir_/name holding exactly `bytes`.
  std::filesystem::path write(const std::string& name, const std::string& bytes) const {
    const std::filesystem::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }

  std::filesystem::path dir_;
};

}  // namespace ftmamba_test
