// defines: helpers shared by the report tests: a temporary folder, reading a file, the cells of a markdown table
// under a heading, checks of a drawn figure (PNG and SVG, no temporary files left), and REQUIRE_GNUPLOT.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ftmamba/report/gnuplot.h"

namespace ftmamba_test {

struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& name)
      : path(std::filesystem::temp_directory_path() / ("ftmamba_report_" + std::to_string(::getpid()) + "_" + name)) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(' '), b = s.find_last_not_of(' ');
  return a == std::string::npos ? "" : s.substr(a, b + 1 - a);
}

// The first markdown table after the line `heading`, as rows of trimmed cells (header first, rule skipped).
inline std::vector<std::vector<std::string>> md_table(const std::string& md, const std::string& heading) {
  std::istringstream in(md);
  std::string line;
  bool after = false;
  std::vector<std::vector<std::string>> rows;
  while (std::getline(in, line)) {
    if (line == heading) after = true;
    if (!after) continue;
    if (line.rfind("|", 0) == 0) {
      if (line.find("---") != std::string::npos) continue;
      std::vector<std::string> cells;
      size_t pos = 1;
      while (pos < line.size()) {
        size_t next = line.find(" |", pos);
        if (next == std::string::npos) break;
        cells.push_back(trim(line.substr(pos, next - pos)));
        pos = next + 2;
      }
      rows.push_back(cells);
    } else if (!rows.empty()) {
      break;
    }
  }
  return rows;
}

inline const std::vector<std::string>* find_row(const std::vector<std::vector<std::string>>& t,
                                                const std::string& label) {
  for (const auto& r : t)
    if (!r.empty() && r[0] == label) return &r;
  return nullptr;
}

inline size_t column(const std::vector<std::vector<std::string>>& t, const std::string& name) {
  for (size_t i = 0; i < t.at(0).size(); ++i)
    if (t[0][i] == name) return i;
  ADD_FAILURE() << "no column " << name;
  return 0;
}

inline bool is_png(const std::string& bytes) {
  return bytes.size() > 24 && bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0;
}

inline uint32_t be32(const std::string& b, size_t at) {
  return (static_cast<uint32_t>(static_cast<unsigned char>(b[at])) << 24) |
         (static_cast<uint32_t>(static_cast<unsigned char>(b[at + 1])) << 16) |
         (static_cast<uint32_t>(static_cast<unsigned char>(b[at + 2])) << 8) |
         static_cast<uint32_t>(static_cast<unsigned char>(b[at + 3]));
}

inline void expect_figure(const std::filesystem::path& dir, const std::string& name) {
  for (const char* ext : {".png", ".svg", ".dat", ".gp"}) {
    const std::filesystem::path p = dir / "figures" / (name + ext);
    ASSERT_TRUE(std::filesystem::exists(p)) << p;
    EXPECT_GT(std::filesystem::file_size(p), 0u) << p;
  }
  const std::string png = slurp(dir / "figures" / (name + ".png"));
  EXPECT_TRUE(is_png(png)) << name;
  EXPECT_EQ(png.compare(12, 4, "IHDR"), 0);
  EXPECT_NE(slurp(dir / "figures" / (name + ".svg")).find("<svg"), std::string::npos) << name;
  // No temporary outputs are left behind.
  for (const auto& e : std::filesystem::directory_iterator(dir / "figures"))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
}

inline bool have_gnuplot() { return !ftmamba::report::find_gnuplot().empty(); }

}  // namespace ftmamba_test

// Skips the test without gnuplot, except on CI, where it fails.
#define REQUIRE_GNUPLOT()                                                                           \
  do {                                                                                              \
    if (!ftmamba_test::have_gnuplot()) {                                                            \
      if (std::getenv("CI")) FAIL() << "gnuplot not found on CI: apt-get install gnuplot-nox";      \
      GTEST_SKIP() << "gnuplot not found: apt-get install gnuplot-nox (scripts/install-deps does)"; \
    }                                                                                               \
  } while (0)
