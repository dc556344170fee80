// defines: CpuPathTest, a GoogleTest fixture whose tests run once for each CPU kernel path this machine supports
// (ftmamba/kernels/cpu_isa.h), with that path current; FTMAMBA_INSTANTIATE_CPU_PATHS(Suite) instantiates a suite.
#pragma once
#include <gtest/gtest.h>

#include <cctype>
#include <ostream>
#include <string>

#include "ftmamba/kernels/cpu_isa.h"

namespace ftmamba::kernels {
// GoogleTest prints a path by its name.
inline void PrintTo(CpuIsa isa, std::ostream* os) { *os << cpu_isa_name(isa); }
}  // namespace ftmamba::kernels

class CpuPathTest : public testing::TestWithParam<ftmamba::kernels::CpuIsa> {
 protected:
  void SetUp() override {
    saved_ = ftmamba::kernels::cpu_isa();
    ftmamba::kernels::set_cpu_isa(GetParam());
  }
  void TearDown() override { ftmamba::kernels::set_cpu_isa(saved_); }

 private:
  ftmamba::kernels::CpuIsa saved_{};
};

// The path's name as a test name: "x86-64-v2" -> "x86_64_v2".
inline std::string cpu_path_test_name(const testing::TestParamInfo<ftmamba::kernels::CpuIsa>& info) {
  std::string name(ftmamba::kernels::cpu_isa_name(info.param));
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

#define FTMAMBA_INSTANTIATE_CPU_PATHS(suite)                                                          \
  INSTANTIATE_TEST_SUITE_P(CpuPath, suite, testing::ValuesIn(ftmamba::kernels::supported_cpu_isas()), \
                           cpu_path_test_name)
