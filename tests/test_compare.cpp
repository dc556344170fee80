// Tests `ftmamba compare` end to end on tiny data: two models x two seeds write every file, the report's
// numbers are exactly those of the runs' metrics.json, a rerun reuses the finished runs, the popularity
// bias sums are consistent, and bad arguments fail before any training.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "binary_runner.h"
#include "ftmamba/io/atomic_file.h"

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
    std::vector<double> hr10, mrr5;
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
      hr10.push_back(metrics["test"]["full"]["model"]["HR@10"].get<double>());
      mrr5.push_back(metrics["test"]["full"]["model"]["MRR@5"].get<double>());
    }
    // the markdown table shows mean ± sample std over the two seeds
    EXPECT_NE(md.find(mean_std(hr10)), std::string::npos) << model << " HR@10 " << mean_std(hr10);
    EXPECT_NE(md.find(mean_std(mrr5)), std::string::npos) << model << " MRR@5 " << mean_std(mrr5);
  }
  // reference rows come from the data's oracle and the popularity ranker
  EXPECT_TRUE(comp["references"].contains("oracle"));
  EXPECT_TRUE(comp["references"].contains("popularity"));
  const auto m0 = read(report / "runs" / "ft-mamba-seed3" / "metrics.json");
  char pop[32];
  std::snprintf(pop, sizeof pop, "%.4f", m0["test"]["full"]["popularity"]["HR@10"].get<double>());
  EXPECT_NE(md.find(pop), std::string::npos);
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
