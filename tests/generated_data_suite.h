// defines: GeneratedDataSuite, the fixture base of test suites that share one generated spotify dataset
// (Pairs interactions, seed Seed): made in a temporary folder named after the suite before its first test,
// at root() / "data", and removed with the folder after its last.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "ftmamba/data/presets/preset.h"

namespace ftmamba_test {

template <int64_t Pairs, uint64_t Seed>
class GeneratedDataSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string suite = ::testing::UnitTest::GetInstance()->current_test_suite()->name();
    root_ = std::filesystem::temp_directory_path() / ("ftmamba_test_" + suite + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(root_);
    ftmamba::data::generate_dataset("spotify", {Pairs, Seed}, data_dir());
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(root_); }
  static const std::filesystem::path& root() { return root_; }
  static std::filesystem::path data_dir() { return root_ / "data"; }

 private:
  static inline std::filesystem::path root_;
};

}  // namespace ftmamba_test
