// Tests `ftmamba compare` end to end on tiny data: two models x two seeds write every file, the report's
// numbers are exactly those of the runs' metrics.json, a rerun reuses the finished runs, the popularity
// bias sums are consistent, and bad arguments fail before any training.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "binary_runner.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/report/gnuplot.h"

namespace fs = std::filesystem;
using ftmamba_test::run_binary;

namespace {

class Compare : public ::testing::Test {
 protected:
  static fs::path dir, data, report;
  static std::string first_output;
  static std::string compare_args() {
    return "compare --data " + data.string() + " --out " + report.string() +
           " --models ft-mamba,ft-transformer --seeds 3,4 --quiet --set train.epochs=2 --set model.d_token=16"
           " --set model.embed_dim=16 --set model.n_layers=1 --set train.valid_users=150 --set train.batch_size=256";
  }
  static void SetUpTestSuite() {
    dir = fs::temp_directory_path() / ("ftmamba_compare_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    data = dir / "data";
    report = dir / "report";
    auto g = run_binary("generate --preset spotify --pairs 3000 --seed 2 --out " + data.string());
    ASSERT_EQ(g.code, 0) << g.out;
    auto c = run_binary(compare_args());
    ASSERT_EQ(c.code, 0) << c.out;
    first_output = c.out;
  }
  static void TearDownTestSuite() { fs::remove_all(dir); }
  static nlohmann::json read(const fs::path& f) { return nlohmann::json::parse(ftmamba::io::read_file(f)); }
};
fs::path Compare::dir, Compare::data, Compare::report;
std::string Compare::first_output;

std::string mean_std(const std::vector<double>& v) {
  const double m = (v[0] + v[1]) / 2.0;
  const double s = std::sqrt(((v[0] - m) * (v[0] - m) + (v[1] - m) * (v[1] - m)) / 1.0);  // n - 1 = 1
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4f ± %.4f", m, s);
  return buf;
}

// The cells of the first table row after `section` whose first cell is `name`, bold marks removed.
std::vector<std::string> table_row(const std::string& md, const std::string& section, const std::string& name) {
  const size_t from = md.find(section);
  const size_t at = from == std::string::npos ? from : md.find("\n| " + name + " |", from);
  if (at == std::string::npos) return {};
  const std::string line = md.substr(at + 1, md.find('\n', at + 1) - at - 1);
  std::vector<std::string> cells;
  std::string cell;
  for (size_t i = 1; i < line.size(); ++i) {
    if (line[i] != '|') {
      cell += line[i];
      continue;
    }
    for (size_t b; (b = cell.find("**")) != std::string::npos;) cell.erase(b, 2);
    const size_t first = cell.find_first_not_of(' '), last = cell.find_last_not_of(' ');
    cells.push_back(first == std::string::npos ? "" : cell.substr(first, last - first + 1));
    cell.clear();
  }
  return cells;
}

std::string with_thousands(int64_t v) {
  std::string digits = std::to_string(v), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

TEST_F(Compare, WritesEveryFile) {
  for (const char* f : {"comparison.json", "report.md", "report.html", "figures/hr_per_epoch.png",
                        "figures/hr_per_epoch.svg", "figures/popularity_bias.png", "figures/popularity_bias.svg"})
    EXPECT_TRUE(fs::exists(report / f) && fs::file_size(report / f) > 0) << f;
  for (const char* m : {"ft-mamba", "ft-transformer"})
    for (int s : {3, 4}) {
      const fs::path run = report / "runs" / (std::string(m) + "-seed" + std::to_string(s));
      for (const char* f : {"metrics.json", "model.safetensors", "history.jsonl", "compare.json"})
        EXPECT_TRUE(fs::exists(run / f)) << run / f;
    }
}

TEST_F(Compare, ReportNumbersEqualTheRunsMetrics) {
  const auto comp = read(report / "comparison.json");
  ASSERT_EQ(comp["runs"].size(), 4u);
  const std::string md = ftmamba::io::read_file(report / "report.md");
  for (const char* model : {"ft-mamba", "ft-transformer"}) {
    for (int seed : {3, 4}) {
      const fs::path run = report / "runs" / (std::string(model) + "-seed" + std::to_string(seed));
      const auto metrics = read(run / "metrics.json");
      EXPECT_EQ(metrics["model_type"], model);
      // comparison.json carries the run's test metrics unchanged
      bool found = false;
      for (const auto& r : comp["runs"])
        if (r["model"] == model && r["seed"] == seed) {
          found = true;
          EXPECT_EQ(r["test"]["full"], metrics["test"]["full"]["model"]);
          EXPECT_EQ(r["test"]["sampled"], metrics["test"]["sampled"]["model"]);
          EXPECT_EQ(r["efficiency"]["parameters"], metrics["parameters"]);
          // both sides of the popularity figure count one held-out item per test user
          double pred = 0, act = 0;
          for (double x : r["popularity_bias"]["predicted"]) pred += x;
          for (double x : r["popularity_bias"]["actual"]) act += x;
          const double users = metrics["test"]["test_users"].get<double>();
          EXPECT_NEAR(pred, users, 1e-6);
          EXPECT_NEAR(act, users, 1e-6);
          EXPECT_EQ(r["popularity_bias"]["predicted"].size(), metrics["test"]["catalog_items"].get<size_t>());
          EXPECT_EQ(r["history"].size(), metrics["epochs_run"].get<size_t>());
        }
      EXPECT_TRUE(found) << model << " seed " << seed;
    }
    // Every cell of the quality table is the mean ± sample std over the two seeds of that metric, in the
    // order k = 1, 5, 10 and P, R, MRR, HR within each k.
    const auto cells = table_row(md, "## Quality: full-catalog ranking", model);
    ASSERT_EQ(cells.size(), 13u) << model;
    size_t col = 1;
    for (int k : {1, 5, 10})
      for (const char* m : {"P", "R", "MRR", "HR"}) {
        const std::string key = std::string(m) + "@" + std::to_string(k);
        std::vector<double> v;
        for (int seed : {3, 4})
          v.push_back(read(report / "runs" / (std::string(model) + "-seed" + std::to_string(seed)) /
                           "metrics.json")["test"]["full"]["model"][key]
                          .get<double>());
        EXPECT_EQ(cells[col++], mean_std(v)) << model << " " << key;
      }
    // Efficiency: the parameter count and the mean peak RSS of the two runs (MiB, from each run's compare.json).
    const auto eff = table_row(md, "## Efficiency", model);
    ASSERT_EQ(eff.size(), 6u) << model;
    const fs::path run3 = report / "runs" / (std::string(model) + "-seed3");
    EXPECT_EQ(eff[1], with_thousands(read(run3 / "metrics.json")["parameters"].get<int64_t>()));
    double rss = 0;
    for (int seed : {3, 4})
      rss +=
          read(report / "runs" / (std::string(model) + "-seed" + std::to_string(seed)) / "compare.json")["peak_rss_mib"]
              .get<double>() /
          2;
    char rss_text[32];
    std::snprintf(rss_text, sizeof rss_text, "%.1f", rss);
    EXPECT_EQ(eff[5], rss_text) << model;
  }
  // reference rows come from the data's oracle and the popularity ranker
  EXPECT_TRUE(comp["references"].contains("oracle"));
  EXPECT_TRUE(comp["references"].contains("popularity"));
  const auto m0 = read(report / "runs" / "ft-mamba-seed3" / "metrics.json");
  const auto pop = table_row(md, "## Quality: full-catalog ranking", "popularity");
  ASSERT_EQ(pop.size(), 13u);
  size_t col = 1;
  for (int k : {1, 5, 10})
    for (const char* m : {"P", "R", "MRR", "HR"}) {
      char want[32];
      std::snprintf(want, sizeof want, "%.4f",
                    m0["test"]["full"]["popularity"][std::string(m) + "@" + std::to_string(k)].get<double>());
      EXPECT_EQ(pop[col++], want) << m << "@" << k;
    }
}

TEST_F(Compare, DifferentModelsAndSeedsGiveDifferentRuns) {
  const auto a = read(report / "runs" / "ft-mamba-seed3" / "metrics.json");
  const auto b = read(report / "runs" / "ft-mamba-seed4" / "metrics.json");
  const auto t = read(report / "runs" / "ft-transformer-seed3" / "metrics.json");
  EXPECT_NE(a["test"]["full"]["model"], b["test"]["full"]["model"]);
  EXPECT_NE(a["parameters"], t["parameters"]);
}

TEST_F(Compare, RerunReusesFinishedRuns) {
  const auto before = fs::last_write_time(report / "runs" / "ft-mamba-seed3" / "model.safetensors");
  auto c = run_binary(compare_args());
  ASSERT_EQ(c.code, 0) << c.out;
  EXPECT_NE(c.out.find("reusing"), std::string::npos) << c.out;
  EXPECT_EQ(first_output.find("reusing"), std::string::npos);
  EXPECT_EQ(fs::last_write_time(report / "runs" / "ft-mamba-seed3" / "model.safetensors"), before);
}

TEST_F(Compare, BadArgumentsFailBeforeTraining) {
  auto c = run_binary("compare --data " + data.string() + " --out " + (dir / "bad").string() + " --models ft-lstm");
  EXPECT_NE(c.code, 0);
  EXPECT_NE(c.out.find("unknown model 'ft-lstm'"), std::string::npos) << c.out;
  EXPECT_FALSE(fs::exists(dir / "bad"));
  auto s = run_binary("compare --data " + data.string() + " --out " + (dir / "bad").string() + " --seeds 1,x");
  EXPECT_NE(s.code, 0);
  EXPECT_NE(s.out.find("'x' is not an integer"), std::string::npos) << s.out;
  auto d = run_binary("compare --data " + (dir / "nope").string() + " --out " + (dir / "bad").string());
  EXPECT_NE(d.code, 0);
  EXPECT_FALSE(fs::exists(dir / "bad"));
}

// ---- ftmamba bench scaling --------------------------------------------------------------------------------

TEST(BenchScaling, TinyRunWritesPointsFitsAndTheFullCommand) {
  if (ftmamba::report::find_gnuplot().empty()) {  // the scaling report's figure needs it
    if (std::getenv("CI")) FAIL() << "gnuplot not found on CI: apt-get install gnuplot-nox";
    GTEST_SKIP() << "gnuplot not found: apt-get install gnuplot-nox (scripts/install-deps does)";
  }
  const fs::path out = fs::temp_directory_path() / ("ftmamba_scaling_" + std::to_string(::getpid()));
  auto r = run_binary(
      "bench scaling --models ft-mamba,ft-transformer --lengths 4,8,16 --batch 2 --d-token 16 "
      "--n-layers 1 --min-seconds 0 --fit-from 8 --out " +
      out.string());
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(ftmamba::io::read_file(out / "scaling.json"));
  ASSERT_EQ(j["points"].size(), 6u);
  for (const auto& p : j["points"]) EXPECT_GT(p["total_ms"].get<double>(), 0.0) << p.dump();
  // Fitted over L = 8 and 16 only, as --fit-from says.
  for (const char* m : {"ft-mamba", "ft-transformer"}) {
    ASSERT_TRUE(j["fits"].contains(m)) << m;
    EXPECT_EQ(j["fits"][m]["slope_from_L"], 8);
  }
  const std::string cmd = j["command"];
  for (const char* part : {"--fit-from 8", "--min-seconds 0", "--threads 1", "--batch 2", "--lengths 4,8,16"})
    EXPECT_NE(cmd.find(part), std::string::npos) << part << " not in " << cmd;
  EXPECT_TRUE(fs::exists(out / "scaling.html"));
  fs::remove_all(out);
}

TEST(BenchScaling, BadArgumentsFailBeforeTiming) {
  const std::string out = " --out " + (fs::temp_directory_path() / "ftmamba_scaling_bad").string();
  auto l = run_binary("bench scaling --lengths 8,x" + out);
  EXPECT_NE(l.code, 0);
  EXPECT_NE(l.out.find("--lengths: 'x' is not an integer"), std::string::npos) << l.out;
  // An unknown model is refused before the known one before it is timed (no JSON line is printed).
  auto m = run_binary("bench scaling --models ft-mamba,ft-lstm --lengths 4" + out);
  EXPECT_NE(m.code, 0);
  EXPECT_NE(m.out.find("unknown model 'ft-lstm'"), std::string::npos) << m.out;
  EXPECT_EQ(m.out.find("\"bench\""), std::string::npos) << m.out;
  auto b = run_binary("bench scaling --batch 0 --lengths 4" + out);
  EXPECT_NE(b.code, 0);
  EXPECT_NE(b.out.find("--batch"), std::string::npos) << b.out;
}
