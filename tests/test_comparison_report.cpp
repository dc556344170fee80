// defines: tests of the comparison report (files, mean ± std cells checked against values computed here, popularity
// bin sums, a missing gnuplot), of the popularity binning, and a headless Chromium load of report.html.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "ftmamba/core/error.h"
#include "ftmamba/experiments/comparison_report.h"
#include "ftmamba/experiments/popularity_bins.h"
#include "report_test_util.h"

namespace fs = std::filesystem;
using ftmamba_test::be32;
using ftmamba_test::column;
using ftmamba_test::expect_figure;
using ftmamba_test::find_row;
using ftmamba_test::is_png;
using ftmamba_test::md_table;
using ftmamba_test::slurp;
using ftmamba_test::TempDir;
using nlohmann::json;

namespace {

const std::vector<std::string> kModels = {"ft-mamba", "ft-transformer"};
const std::vector<int> kSeeds = {1, 2};
constexpr int kItems = 300;
constexpr int kEpochs = 5;
constexpr int kTestUsers = 500;

json random_metrics(std::mt19937& rng, double scale) {
  std::uniform_real_distribution<double> u(0.2, 1.0);
  json m = json::object();
  for (int k : {1, 5, 10, 20})
    for (const char* name : {"P", "R", "MRR", "HR", "NDCG"}) m[fmt::format("{}@{}", name, k)] = scale * u(rng);
  return m;
}

// 2 models x 2 seeds, 300 items, 5 epochs; random but seeded.
json synthetic_comparison() {
  std::mt19937 rng(1234);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  json j;
  j["title"] = "synthetic: ft-mamba vs ft-transformer";
  j["created"] = "2026-11-22T19:40:00Z";
  j["command"] = "ftmamba compare --data data/synth --models ft-mamba,ft-transformer --seeds 1,2 --out reports/synth";
  j["machine"] = "test machine, 2 vCPU";
  j["dataset"] = {
      {"dir", "data/synth"}, {"preset", "spotify"}, {"users", 500}, {"items", kItems}, {"interactions", 8000}};
  j["models"] = kModels;
  j["seeds"] = kSeeds;
  j["ks"] = {1, 5, 10};
  j["runs"] = json::array();
  for (size_t m = 0; m < kModels.size(); ++m) {
    for (int seed : kSeeds) {
      json r;
      r["model"] = kModels[m];
      r["seed"] = seed;
      r["run_dir"] = fmt::format("runs/{}-seed{}", kModels[m], seed);
      r["best_epoch"] = 3 + seed % 2;
      r["test"] = {{"full", random_metrics(rng, 0.3)}, {"sampled", random_metrics(rng, 0.8)}};
      r["history"] = json::array();
      double level = 0.02 + 0.02 * u(rng);
      for (int e = 1; e <= kEpochs; ++e) {
        level += 0.01 + 0.02 * u(rng);
        json valid;
        valid["HR@1"] = level;
        valid["HR@5"] = 2.5 * level;
        valid["HR@10"] = 3.5 * level;
        valid["NDCG@10"] = 1.5 * level;
        r["history"].push_back({{"epoch", e},
                                {"seconds", 30 + 10 * u(rng)},
                                {"samples_per_sec", 3000 + 1000 * u(rng)},
                                {"loss", 6.0 - 0.2 * e},
                                {"valid", valid}});
      }
      r["efficiency"] = {{"parameters", m == 0 ? 189696 : 210432},
                         {"seconds_per_epoch", 20 + 30 * u(rng)},
                         {"train_samples_per_sec", 2000 + 3000 * u(rng)},
                         {"encode_samples_per_sec", 15000 + 5000 * u(rng)},
                         {"peak_rss_mib", 700 + 200 * u(rng)}};
      // actual: Zipf-like counts over popularity ranks; predicted: top-10 slots / 10, skewed to the head.
      std::vector<double> actual(kItems, 0.0), predicted(kItems, 0.0);
      std::vector<double> w(kItems), w2(kItems);
      for (int i = 0; i < kItems; ++i) {
        w[i] = 1.0 / (i + 1);
        w2[i] = 1.0 / std::pow(i + 1, 0.8 + 0.4 * static_cast<double>(m));
      }
      std::discrete_distribution<int> act_d(w.begin(), w.end()), pred_d(w2.begin(), w2.end());
      for (int t = 0; t < kTestUsers; ++t) {
        actual[static_cast<size_t>(act_d(rng))] += 1;
        for (int s = 0; s < 10; ++s) predicted[static_cast<size_t>(pred_d(rng))] += 0.1;
      }
      r["popularity_bias"] = {{"k", 10}, {"predicted", predicted}, {"actual", actual}};
      j["runs"].push_back(r);
    }
  }
  j["references"] = {{"oracle", {{"full", random_metrics(rng, 0.5)}, {"sampled", random_metrics(rng, 0.9)}}},
                     {"true-utility", {{"full", random_metrics(rng, 0.6)}, {"sampled", random_metrics(rng, 0.95)}}},
                     {"popularity", {{"full", random_metrics(rng, 0.1)}, {"sampled", random_metrics(rng, 0.4)}}}};
  return j;
}

// Mean ± sample std (n - 1) of one model's test metric, formatted as the report documents: 4 decimals.
std::string expected_cell(const json& j, const std::string& model, const std::string& protocol,
                          const std::string& key) {
  std::vector<double> v;
  for (const auto& r : j["runs"])
    if (r["model"] == model) v.push_back(r["test"][protocol][key].get<double>());
  double mean = 0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  if (v.size() == 1) return fmt::format("{:.4f}", mean);
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  return fmt::format("{:.4f} \u00b1 {:.4f}", mean, std::sqrt(ss / static_cast<double>(v.size() - 1)));
}

double model_mean(const json& j, const std::string& model, const std::string& protocol, const std::string& key) {
  double s = 0;
  int n = 0;
  for (const auto& r : j["runs"])
    if (r["model"] == model) {
      s += r["test"][protocol][key].get<double>();
      ++n;
    }
  return s / n;
}

}  // namespace

// ---- popularity bins ----------------------------------------------------------------------------------------------

TEST(PopularityBins, LogSpacedAndCovering) {
  const auto bins = ftmamba::experiments::popularity_bins(3500);
  ASSERT_FALSE(bins.empty());
  EXPECT_LE(bins.size(), 40u);
  EXPECT_GE(bins.size(), 30u);  // for thousands of items most of the 40 edges are distinct
  EXPECT_EQ(bins.front().first_rank, 1);
  EXPECT_EQ(bins.front().last_rank, 1);  // the most popular item has a bin of its own
  EXPECT_EQ(bins.back().last_rank, 3500);
  for (size_t i = 1; i < bins.size(); ++i) {
    EXPECT_EQ(bins[i].first_rank, bins[i - 1].last_rank + 1);
    // Log spacing: the last bin is much wider than the first ones.
    EXPECT_GE(bins[i].last_rank - bins[i].first_rank, bins[i - 1].last_rank - bins[i - 1].first_rank);
  }
  EXPECT_GT(bins.back().last_rank - bins.back().first_rank, 300);
  // n = 100, 40 bins: edges floor(100^(b/40)); e.g. b = 20 gives exactly 10, so a bin starts at rank 10.
  const auto small = ftmamba::experiments::popularity_bins(100);
  bool starts_at_10 = false;
  for (const auto& b : small) starts_at_10 = starts_at_10 || b.first_rank == 10;
  EXPECT_TRUE(starts_at_10);
  EXPECT_EQ(ftmamba::experiments::popularity_bins(1).size(), 1u);
}

// ---- the comparison report ----------------------------------------------------------------------------------------

TEST(ComparisonReport, WritesFilesAndTheNumbersMatch) {
  REQUIRE_GNUPLOT();
  TempDir tmp("full");
  const json j = synthetic_comparison();
  ftmamba::experiments::render_comparison_report(j, tmp.path);

  for (const char* f : {"report.md", "report.html"}) {
    ASSERT_TRUE(fs::exists(tmp.path / f)) << f;
    EXPECT_GT(fs::file_size(tmp.path / f), 1000u) << f;
  }
  expect_figure(tmp.path, "hr_per_epoch");
  expect_figure(tmp.path, "popularity_bias");

  const std::string md = slurp(tmp.path / "report.md");
  const std::string html = slurp(tmp.path / "report.html");
  EXPECT_NE(md.find("# synthetic: ft-mamba vs ft-transformer"), std::string::npos);
  EXPECT_NE(md.find("ftmamba compare --data data/synth"), std::string::npos);
  EXPECT_NE(md.find("500 users, 300 items, 8,000 interactions"), std::string::npos);
  EXPECT_NE(md.find("2026-11-22T19:40:00Z"), std::string::npos);

  // Quality table: each model cell is mean ± sample std in the model's row and the metric's column.
  const auto full = md_table(md, "## Quality: full-catalog ranking");
  ASSERT_EQ(full.size(), 1u + 2u + 3u);  // header, 2 models, 3 references
  ASSERT_EQ(full[0].size(), 1u + 4u * 3u);
  for (const std::string key : {"P@1", "R@5", "MRR@10", "HR@10", "HR@5"}) {
    const double a = model_mean(j, kModels[0], "full", key), b = model_mean(j, kModels[1], "full", key);
    for (size_t m = 0; m < 2; ++m) {
      const auto* row = find_row(full, kModels[m]);
      ASSERT_NE(row, nullptr);
      const std::string want = expected_cell(j, kModels[m], "full", key);
      const bool best = (m == 0) == (a > b);
      EXPECT_EQ(row->at(column(full, key)), best ? "**" + want + "**" : want) << kModels[m] << " " << key;
    }
  }
  // Reference rows: the seed-independent values, never bold.
  for (const std::string ref : {"oracle", "true-utility", "popularity"}) {
    const auto* row = find_row(full, ref);
    ASSERT_NE(row, nullptr) << ref;
    EXPECT_EQ(row->at(column(full, "HR@10")),
              fmt::format("{:.4f}", j["references"][ref]["full"]["HR@10"].get<double>()));
    EXPECT_EQ(row->at(column(full, "P@1")), fmt::format("{:.4f}", j["references"][ref]["full"]["P@1"].get<double>()));
  }

  // Sampled table: HR@10, NDCG@10, MRR@10 of the sampled protocol.
  const auto sampled = md_table(md, "## Quality: sampled protocol");
  ASSERT_EQ(sampled.at(0), (std::vector<std::string>{"model", "HR@10", "NDCG@10", "MRR@10"}));
  for (const auto& model : kModels) {
    const auto* row = find_row(sampled, model);
    ASSERT_NE(row, nullptr);
    const std::string cell = row->at(2);
    EXPECT_NE(cell.find(expected_cell(j, model, "sampled", "NDCG@10")), std::string::npos) << cell;
  }
  EXPECT_EQ(find_row(sampled, "oracle")->at(1),
            fmt::format("{:.4f}", j["references"]["oracle"]["sampled"]["HR@10"].get<double>()));

  // Efficiency: means over seeds and the first / second ratio.
  const auto eff = md_table(md, "## Efficiency");
  auto eff_mean = [&](size_t m, const char* key) {
    double s = 0;
    for (const auto& r : j["runs"])
      if (r["model"] == kModels[m]) s += r["efficiency"][key].get<double>();
    return s / 2;
  };
  EXPECT_EQ(find_row(eff, "ft-mamba")->at(1), "189,696");
  EXPECT_EQ(find_row(eff, "ft-transformer")->at(1), "210,432");
  EXPECT_EQ(find_row(eff, "ft-mamba")->at(2), fmt::format("{:.2f}", eff_mean(0, "seconds_per_epoch")));
  EXPECT_EQ(find_row(eff, "ft-transformer")->at(5), fmt::format("{:.1f}", eff_mean(1, "peak_rss_mib")));
  const auto* ratio = find_row(eff, "ft-mamba / ft-transformer");
  ASSERT_NE(ratio, nullptr);
  EXPECT_EQ(ratio->at(1), fmt::format("{:.2f}\u00d7", 189696.0 / 210432.0));
  EXPECT_EQ(ratio->at(3),
            fmt::format("{:.2f}\u00d7", eff_mean(0, "train_samples_per_sec") / eff_mean(1, "train_samples_per_sec")));

  // Runs: one row per run, with epochs, best epoch, test HR@10 and a link to the run folder.
  const auto runs = md_table(md, "## Runs");
  ASSERT_EQ(runs.size(), 1u + 4u);
  EXPECT_EQ(runs[1],
            (std::vector<std::string>{"ft-mamba", "1", "5", "4",
                                      fmt::format("{:.4f}", j["runs"][0]["test"]["full"]["HR@10"].get<double>()),
                                      "[runs/ft-mamba-seed1](runs/ft-mamba-seed1/)"}));

  // HTML: the same numbers, figures as relative SVG links, the load-check script, nothing external.
  EXPECT_NE(html.find(expected_cell(j, "ft-transformer", "full", "MRR@5").substr(0, 6)), std::string::npos);
  EXPECT_NE(html.find("<img src=\"figures/hr_per_epoch.svg\""), std::string::npos);
  EXPECT_NE(html.find("<img src=\"figures/popularity_bias.svg\""), std::string::npos);
  EXPECT_NE(html.find("figuresLoaded"), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"num\">"), std::string::npos);

  // hr_per_epoch.dat: one block per run, each with 5 epochs and HR@1, HR@5, HR@10.
  {
    std::istringstream in(slurp(tmp.path / "figures" / "hr_per_epoch.dat"));
    std::string line;
    int rows = 0;
    double last_hr10 = 0;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream f(line);
      double epoch, h1, h5, h10;
      ASSERT_TRUE(f >> epoch >> h1 >> h5 >> h10) << line;
      last_hr10 = h10;
      ++rows;
    }
    EXPECT_EQ(rows, 4 * kEpochs);
    EXPECT_NEAR(last_hr10, j["runs"][3]["history"][kEpochs - 1]["valid"]["HR@10"].get<double>(), 1e-5);
  }
}

// The popularity figure's data: per bin and run, the sum of predicted - actual over the bin's ranks, with bins
// made by the documented rule (edges floor(n^(b/40)), last edge n + 1, empty bins dropped).
TEST(ComparisonReport, PopularityBinSums) {
  REQUIRE_GNUPLOT();
  TempDir tmp("bins");
  const json j = synthetic_comparison();
  ftmamba::experiments::render_comparison_report(j, tmp.path);

  std::vector<int64_t> edges;
  for (int b = 0; b < 40; ++b) edges.push_back(static_cast<int64_t>(std::floor(std::pow(300.0, b / 40.0) + 1e-9)));
  edges.push_back(kItems + 1);
  std::vector<std::pair<int64_t, int64_t>> want_bins;
  for (size_t b = 0; b + 1 < edges.size(); ++b)
    if (edges[b + 1] > edges[b]) want_bins.emplace_back(edges[b], edges[b + 1] - 1);

  std::istringstream in(slurp(tmp.path / "figures" / "popularity_bias.dat"));
  std::string line, columns;
  std::vector<std::vector<double>> rows;
  while (std::getline(in, line)) {
    if (line.rfind("# columns:", 0) == 0) columns = line;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream f(line);
    std::vector<double> v;
    double x;
    while (f >> x) v.push_back(x);
    rows.push_back(v);
  }
  EXPECT_NE(columns.find("ft-mamba/seed1 ft-mamba/seed2 ft-transformer/seed1 ft-transformer/seed2"), std::string::npos)
      << columns;
  ASSERT_EQ(rows.size(), want_bins.size());
  std::vector<double> totals(4, 0.0);
  for (size_t b = 0; b < rows.size(); ++b) {
    ASSERT_EQ(rows[b].size(), 3u + 4u);
    EXPECT_EQ(rows[b][0], want_bins[b].first);
    EXPECT_EQ(rows[b][1], want_bins[b].second);
    for (size_t r = 0; r < 4; ++r) {
      const auto& pb = j["runs"][r]["popularity_bias"];
      double sum = 0;
      for (int64_t rank = want_bins[b].first; rank <= want_bins[b].second; ++rank)
        sum += pb["predicted"][rank - 1].get<double>() - pb["actual"][rank - 1].get<double>();
      EXPECT_NEAR(rows[b][3 + r], sum, 1e-7) << "bin " << b << " run " << r;
      totals[r] += rows[b][3 + r];
    }
  }
  // Predicted and actual both sum to the test users, so the bins' sums cancel out over the catalog.
  for (double t : totals) EXPECT_NEAR(t, 0.0, 1e-6);
}

TEST(ComparisonReport, WithoutOracleAndWithOneSeed) {
  REQUIRE_GNUPLOT();
  TempDir tmp("real");
  json j = synthetic_comparison();
  j["references"].erase("oracle");
  j["references"].erase("true-utility");
  j["dataset"]["preset"] = nullptr;
  json one_seed = json::array();
  for (const auto& r : j["runs"])
    if (r["seed"] == 1) one_seed.push_back(r);
  j["runs"] = one_seed;
  j["seeds"] = {1};
  j["ks"] = {1, 5, 10, 20};  // the history has no HR@20: that panel is left out rather than failing gnuplot
  ASSERT_NO_THROW(ftmamba::experiments::render_comparison_report(j, tmp.path));
  const std::string md = slurp(tmp.path / "report.md");
  const auto full = md_table(md, "## Quality: full-catalog ranking");
  ASSERT_EQ(full.size(), 1u + 2u + 1u);
  EXPECT_EQ(full[0].size(), 1u + 4u * 4u);
  expect_figure(tmp.path, "hr_per_epoch");
  const std::string gp = slurp(tmp.path / "figures" / "hr_per_epoch.gp");
  EXPECT_NE(gp.find("set title \"HR@10\""), std::string::npos);
  EXPECT_EQ(gp.find("set title \"HR@20\""), std::string::npos);
  EXPECT_EQ(find_row(full, "oracle"), nullptr);
  EXPECT_EQ(find_row(full, "true-utility"), nullptr);
  ASSERT_NE(find_row(full, "popularity"), nullptr);
  // One seed: the mean alone, no ±.
  std::string cell = find_row(full, "ft-transformer")->at(column(full, "R@5"));
  if (cell.rfind("**", 0) == 0) cell = cell.substr(2, cell.size() - 4);  // bold when it is the better model
  EXPECT_EQ(cell, fmt::format("{:.4f}", j["runs"][1]["test"]["full"]["R@5"].get<double>()));
  EXPECT_EQ(md.find("\u00b1 0."), std::string::npos);
  EXPECT_NE(md.find("(real data)"), std::string::npos);
  expect_figure(tmp.path, "popularity_bias");
}

// A model whose mean full-catalog HR@10 is below popularity's gets a warning under the quality table, in both
// files; with popularity below every model, none.
TEST(ComparisonReport, AModelBelowPopularityIsCalledOut) {
  REQUIRE_GNUPLOT();
  TempDir tmp("below");
  json j = synthetic_comparison();
  j["references"]["popularity"]["full"]["HR@10"] = 0.0;
  j["references"]["popularity"]["full"]["NDCG@10"] = 0.0;
  ftmamba::experiments::render_comparison_report(j, tmp.path);
  EXPECT_EQ(slurp(tmp.path / "report.md").find("Below popularity"), std::string::npos);

  // Between the two models' means: only the lower one is below.
  const double a = model_mean(j, kModels[0], "full", "HR@10"), b = model_mean(j, kModels[1], "full", "HR@10");
  j["references"]["popularity"]["full"]["HR@10"] = (a + b) / 2;
  ftmamba::experiments::render_comparison_report(j, tmp.path);
  const std::string below = a < b ? kModels[0] : kModels[1], above = a < b ? kModels[1] : kModels[0];
  for (const char* file : {"report.md", "report.html"}) {
    const std::string text = slurp(tmp.path / file);
    EXPECT_NE(text.find("Below popularity:"), std::string::npos) << file;
    EXPECT_NE(text.find(below + " (mean of 2 seeds) ranks below the popularity baseline"), std::string::npos) << file;
    EXPECT_EQ(text.find(above + " (mean of 2 seeds) ranks below"), std::string::npos) << file;
  }
}

TEST(ComparisonReport, OptionalPiecesMissing) {
  REQUIRE_GNUPLOT();
  TempDir tmp("sparse");
  json j = synthetic_comparison();
  j.erase("references");
  for (auto& r : j["runs"]) {
    r.erase("history");
    r.erase("popularity_bias");
    r.erase("efficiency");
    r["test"]["full"].erase("HR@10");
  }
  ASSERT_NO_THROW(ftmamba::experiments::render_comparison_report(j, tmp.path));
  const std::string md = slurp(tmp.path / "report.md");
  EXPECT_EQ(md.find("figures/"), std::string::npos);  // no figure without its data
  const auto full = md_table(md, "## Quality: full-catalog ranking");
  EXPECT_EQ(find_row(full, "ft-mamba")->at(column(full, "HR@10")), "\u2014");
  EXPECT_EQ(find_row(md_table(md, "## Efficiency"), "ft-mamba")->at(1), "\u2014");
}

TEST(ComparisonReport, BadInputIsAnError) {
  TempDir tmp("bad");
  json j = synthetic_comparison();
  j["runs"][0].erase("test");
  EXPECT_THROW(ftmamba::experiments::render_comparison_report(j, tmp.path), ftmamba::Error);
  j = synthetic_comparison();
  j["runs"][1]["popularity_bias"]["actual"].erase(0);
  try {
    ftmamba::experiments::render_comparison_report(j, tmp.path);
    FAIL() << "expected an error";
  } catch (const ftmamba::Error& e) {
    EXPECT_NE(std::string(e.what()).find("differ in length"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ftmamba::experiments::render_comparison_report(json{{"runs", json::array()}}, tmp.path), ftmamba::Error);
}

// Without gnuplot the report fails with a clear message, but only after report.md is on disk.
TEST(ComparisonReport, MissingGnuplotStillWritesMarkdown) {
  TempDir tmp("nognuplot");
  const fs::path empty_bin = tmp.path / "empty-bin";
  fs::create_directories(empty_bin);
  const char* old = std::getenv("PATH");
  const std::string saved = old ? old : "";
  ::setenv("PATH", empty_bin.c_str(), 1);
  std::string message;
  try {
    ftmamba::experiments::render_comparison_report(synthetic_comparison(), tmp.path / "report");
  } catch (const ftmamba::Error& e) {
    message = e.what();
  }
  ::setenv("PATH", saved.c_str(), 1);
  EXPECT_EQ(message.rfind("gnuplot not found: apt-get install gnuplot-nox", 0), 0u) << message;
  EXPECT_TRUE(fs::exists(tmp.path / "report" / "report.md"));
  EXPECT_TRUE(fs::exists(tmp.path / "report" / "figures" / "hr_per_epoch.gp"));
  EXPECT_FALSE(fs::exists(tmp.path / "report" / "figures" / "hr_per_epoch.png"));
}

// ---- headless Chromium
// ------------------------------------------------------------------------------------------------

namespace {

fs::path find_on_path(const std::vector<std::string>& names) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "");
  std::string dir;
  while (std::getline(dirs, dir, ':'))
    for (const auto& n : names) {
      const fs::path p = fs::path(dir.empty() ? "." : dir) / n;
      if (fs::is_regular_file(p) && ::access(p.c_str(), X_OK) == 0) return p;
    }
  return {};
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

// Loads report.html in headless Chromium: the screenshot must be a non-blank PNG of the window size, and the page's
// own load check must count every figure as decoded.
TEST(ReportInBrowser, HeadlessChromiumLoadsEveryFigure) {
  const fs::path chromium = find_on_path({"chromium", "chromium-browser"});
  if (chromium.empty()) {
    if (std::getenv("CI")) FAIL() << "chromium not found on CI: apt-get install chromium (scripts/install-deps does)";
    GTEST_SKIP() << "chromium not found: apt-get install chromium fonts-dejavu-core (scripts/install-deps does)";
  }
  REQUIRE_GNUPLOT();
  TempDir tmp("chromium");
  const fs::path report = tmp.path / "report";
  ftmamba::experiments::render_comparison_report(synthetic_comparison(), report);

  const std::string url = "file://" + fs::absolute(report / "report.html").string();
  const std::string common = "cd " + shell_quote(tmp.path.string()) + " && HOME=" + shell_quote(tmp.path.string()) +
                             " timeout 60 " + shell_quote(chromium.string()) +
                             " --headless=new --no-sandbox --disable-gpu --hide-scrollbars --no-first-run"
                             " --disable-dev-shm-usage --window-size=1280,2400 --user-data-dir=" +
                             shell_quote((tmp.path / "profile").string());
  const fs::path shot = tmp.path / "shot.png", dom = tmp.path / "dom.html", log = tmp.path / "chromium.log";
  int rc = std::system((common + " --screenshot=" + shell_quote(shot.string()) + " " + shell_quote(url) + " >" +
                        shell_quote(log.string()) + " 2>&1")
                           .c_str());
  ASSERT_EQ(rc, 0) << "chromium --screenshot failed:\n" << slurp(log);
  ASSERT_TRUE(fs::exists(shot)) << slurp(log);
  const std::string png = slurp(shot);
  ASSERT_TRUE(is_png(png));
  ASSERT_EQ(png.compare(12, 4, "IHDR"), 0);
  EXPECT_EQ(be32(png, 16), 1280u);
  EXPECT_EQ(be32(png, 20), 2400u);
  // Not blank: a 1280x2400 page with a heading and a line of text compresses to about 16 kB, this report to a few
  // hundred kB (tables, text and plots).
  ::testing::Test::RecordProperty("screenshot_bytes", static_cast<int>(png.size()));
  EXPECT_GT(png.size(), 120u * 1024u);

  rc = std::system((common + " --dump-dom " + shell_quote(url) + " >" + shell_quote(dom.string()) + " 2>" +
                    shell_quote(log.string()))
                       .c_str());
  ASSERT_EQ(rc, 0) << "chromium --dump-dom failed:\n" << slurp(log);
  const std::string text = slurp(dom);
  std::smatch loaded, total;
  ASSERT_TRUE(std::regex_search(text, loaded, std::regex("data-figures-loaded=\"(\\d+)\""))) << text.substr(0, 2000);
  ASSERT_TRUE(std::regex_search(text, total, std::regex("data-figures-total=\"(\\d+)\"")));
  EXPECT_EQ(std::stoi(total[1]), 2);
  EXPECT_EQ(std::stoi(loaded[1]), std::stoi(total[1]));
}
