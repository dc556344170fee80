// defines: tests of the CPU kernels' instruction-set dispatch (ftmamba/kernels/cpu_isa.h): the path chosen by
// default is the best one the CPU runs, as /proc/cpuinfo lists its features; FTMAMBA_CPU_ISA picks any supported
// path and refuses the others. (test_selective_scan and test_causal_conv1d check every path's results.)
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "cpu_paths.h"  // prints CpuIsa by name
#include "ftmamba/kernels/cpu_isa.h"

namespace {

using ftmamba::kernels::CpuIsa;

// The CPU's feature flags as Linux lists them, or nothing where there is no /proc/cpuinfo.
std::optional<std::set<std::string>> cpuinfo_flags() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    std::set<std::string> flags;
    for (std::string w; words >> w;) flags.insert(w);
    return flags;
  }
  return std::nullopt;
}

// The x86-64 micro-architecture level these flags reach (1 to 4), from the levels' definitions.
int x86_level(const std::set<std::string>& flags) {
  const auto has = [&](std::initializer_list<const char*> names) {
    for (const char* n : names)
      if (!flags.count(n)) return false;
    return true;
  };
  if (!has({"cx16", "lahf_lm", "popcnt", "pni", "ssse3", "sse4_1", "sse4_2"})) return 1;
  if (!has({"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"})) return 2;
  if (!has({"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"})) return 3;
  return 4;
}

// Sets FTMAMBA_CPU_ISA for one scope, then restores it and the path chosen from it.
class ScopedIsaVariable {
 public:
  explicit ScopedIsaVariable(const char* value) {
    if (const char* old = std::getenv("FTMAMBA_CPU_ISA")) saved_ = old;
    setenv("FTMAMBA_CPU_ISA", value, 1);
  }
  ~ScopedIsaVariable() {
    if (saved_) {
      setenv("FTMAMBA_CPU_ISA", saved_->c_str(), 1);
    } else {
      unsetenv("FTMAMBA_CPU_ISA");
    }
    try {
      ftmamba::kernels::reset_cpu_isa();
    } catch (const std::invalid_argument&) {
      // the variable the test run was started with is itself refused; the tests above say so
    }
  }

 private:
  std::optional<std::string> saved_;
};

TEST(CpuIsa, DefaultIsTheBestPathTheCpuRuns) {
  if (ftmamba::kernels::cpu_isa_supported(CpuIsa::kBuild)) {
    // FTMAMBA_NATIVE or a non-x86-64 build: one path, no dispatch.
    EXPECT_EQ(ftmamba::kernels::supported_cpu_isas(), std::vector<CpuIsa>{CpuIsa::kBuild});
    EXPECT_EQ(ftmamba::kernels::best_cpu_isa(), CpuIsa::kBuild);
    return;
  }
  const auto flags = cpuinfo_flags();
  if (!flags) GTEST_SKIP() << "no /proc/cpuinfo to compare with";
  const int level = x86_level(*flags);
  ASSERT_GE(level, 2) << "the CPU kernels need x86-64-v2";
  const std::vector<CpuIsa> by_level = {CpuIsa::kX86_64_v2, CpuIsa::kAvx2, CpuIsa::kAvx512};
  const std::vector<CpuIsa> expected(by_level.begin(), by_level.begin() + (level - 1));
  EXPECT_EQ(ftmamba::kernels::supported_cpu_isas(), expected);
  EXPECT_EQ(ftmamba::kernels::best_cpu_isa(), expected.back());
  EXPECT_EQ(ftmamba::kernels::choose_cpu_isa(nullptr), expected.back());
  EXPECT_EQ(ftmamba::kernels::choose_cpu_isa(""), expected.back());
  EXPECT_EQ(ftmamba::kernels::choose_cpu_isa("auto"), expected.back());
  // What kernel calls run when FTMAMBA_CPU_ISA is not set.
  const ScopedIsaVariable auto_isa("auto");
  EXPECT_EQ(ftmamba::kernels::reset_cpu_isa(), expected.back());
  EXPECT_EQ(ftmamba::kernels::cpu_isa(), expected.back());
}

TEST(CpuIsa, VariableChoosesAnySupportedPath) {
  for (CpuIsa isa : ftmamba::kernels::supported_cpu_isas()) {
    const std::string name(ftmamba::kernels::cpu_isa_name(isa));
    SCOPED_TRACE(name);
    const ScopedIsaVariable variable(name.c_str());
    EXPECT_EQ(ftmamba::kernels::reset_cpu_isa(), isa);
    EXPECT_EQ(ftmamba::kernels::cpu_isa(), isa);
  }
}

TEST(CpuIsa, VariableRefusesUnknownAndUnsupportedPaths) {
  EXPECT_THROW(ftmamba::kernels::choose_cpu_isa("avx1024"), std::invalid_argument);
  EXPECT_THROW(ftmamba::kernels::choose_cpu_isa("AVX2"), std::invalid_argument);
  for (CpuIsa isa : {CpuIsa::kBuild, CpuIsa::kX86_64_v2, CpuIsa::kAvx2, CpuIsa::kAvx512}) {
    if (ftmamba::kernels::cpu_isa_supported(isa)) continue;
    const std::string name(ftmamba::kernels::cpu_isa_name(isa));
    SCOPED_TRACE(name);
    EXPECT_THROW(ftmamba::kernels::choose_cpu_isa(name.c_str()), std::invalid_argument);
    EXPECT_THROW(ftmamba::kernels::set_cpu_isa(isa), std::invalid_argument);
  }
  // A refused value leaves the path in use as it was.
  const CpuIsa before = ftmamba::kernels::cpu_isa();
  {
    const ScopedIsaVariable bad("avx1024");
    EXPECT_THROW(ftmamba::kernels::reset_cpu_isa(), std::invalid_argument);
    EXPECT_EQ(ftmamba::kernels::cpu_isa(), before);
  }
}

}  // namespace
