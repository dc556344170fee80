// defines: tests of the reports of `ftmamba bench scaling` (slopes table and figure), `ftmamba compare-finetune`
// (the variants table against its finetune.json) and `ftmamba analyze stability` (the per-tower tables against its
// analysis JSON), each rendered from JSON.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "ftmamba/eval/stability_report.h"
#include "ftmamba/experiments/finetune_report.h"
#include "ftmamba/experiments/scaling_report.h"
#include "ftmamba/report/loglog_fit.h"
#include "report_test_util.h"

namespace fs = std::filesystem;
using ftmamba_test::column;
using ftmamba_test::expect_figure;
using ftmamba_test::find_row;
using ftmamba_test::md_table;
using ftmamba_test::slurp;
using ftmamba_test::TempDir;
using nlohmann::json;

// ---- the scaling report -------------------------------------------------------------------------------------------

TEST(ScalingReport, SlopesTableAndFigure) {
  REQUIRE_GNUPLOT();
  TempDir tmp("scaling");
  json j;
  j["title"] = "time against sequence length";
  j["command"] = "ftmamba bench scaling --lengths 8:4096";
  j["machine"] = "test machine";
  j["batch"] = 16;
  j["d_token"] = 64;
  j["n_layers"] = 2;
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> noise(0.95, 1.05);
  std::vector<double> xs, ys;
  for (int L = 8; L <= 4096; L *= 2) {
    const double mamba = 0.02 * L * noise(rng) + 0.5, transformer = 1e-4 * L * L * noise(rng) + 0.8;
    j["points"].push_back({{"model", "ft-mamba"},
                           {"L", L},
                           {"forward_ms", mamba / 3},
                           {"backward_ms", 2 * mamba / 3},
                           {"total_ms", mamba}});
    j["points"].push_back({{"model", "ft-transformer"},
                           {"L", L},
                           {"forward_ms", transformer / 3},
                           {"backward_ms", 2 * transformer / 3},
                           {"total_ms", transformer}});
    xs.push_back(L);
    ys.push_back(transformer);
  }
  j["fits"] = {{"ft-mamba", {{"slope", 1.02}, {"slope_from_L", 512}}}};  // ft-transformer: fitted by the report
  ftmamba::experiments::render_scaling_report(j, tmp.path);
  ASSERT_TRUE(fs::exists(tmp.path / "scaling.md"));
  ASSERT_TRUE(fs::exists(tmp.path / "scaling.html"));
  expect_figure(tmp.path, "scaling");
  const std::string md = slurp(tmp.path / "scaling.md");
  const auto slopes = md_table(md, "## Scaling exponents");
  EXPECT_EQ(*find_row(slopes, "ft-mamba"), (std::vector<std::string>{"ft-mamba", "1.02", "512", "4"}));
  EXPECT_EQ(find_row(slopes, "ft-transformer")->at(1),
            fmt::format("{:.2f}", ftmamba::report::fit_loglog_slope(xs, ys)));
  EXPECT_EQ(find_row(slopes, "ft-transformer")->at(2), "8");
  // The legend carries the slopes too.
  const std::string gp = slurp(tmp.path / "figures" / "scaling.gp");
  EXPECT_NE(gp.find("slope 1.02 (L \u2265 512)"), std::string::npos);
  EXPECT_NE(slurp(tmp.path / "scaling.html").find("<img src=\"figures/scaling.svg\""), std::string::npos);
}

// ---- the fine-tuning report ---------------------------------------------------------------------------------------

namespace {

json finetune_variant(const std::string& name, double hr, double samples_per_sec, double peak_mib, double trainable,
                      double total) {
  return {{"name", name},
          {"test", {{"HR@10", hr}, {"NDCG@10", hr / 2}, {"MRR@10", hr / 3}}},
          {"train_samples_per_sec", samples_per_sec},
          {"peak_memory_mib", peak_mib},
          {"memory_measure", "max RSS"},
          {"batch_size", 512},
          {"trainable_parameters", trainable},
          {"total_parameters", total},
          {"hr10_minus_full_fp32", hr - 0.30854},
          {"share_of_full_fp32_gain", (hr - 0.0798) / (0.30854 - 0.0798)},
          {"cosine_distance_to_full_fp32",
           {{"users", name == "full-fp32" ? 0.0 : 0.162}, {"items", name == "full-fp32" ? 0.0 : 0.0161}}}};
}

json finetune_json() {
  json j;
  j["title"] = "Fine-tuning test";
  j["created"] = "2026-12-06T03:28:37Z";
  j["machine"] = "test machine";
  j["command"] = "ftmamba compare-finetune --base-data d --data d2 --out ft";
  j["drift"] = {{"segment", "premium=free"}, {"users", 102}, {"strength", 0.7}};
  j["base"] = {{"HR@10_on_finetune_data", 0.0798}, {"HR@10_on_base_data", 0.1064}};
  // A name with a pipe: escaped, it must not split the row.
  j["variants"] = {finetune_variant("full-fp32", 0.30854, 3254.4, 235.2, 154688, 154688),
                   finetune_variant("lora|bf16", 0.12771, 2525.0, 258.0, 25856, 180544)};
  return j;
}

}  // namespace

TEST(FinetuneReport, TableMatchesTheJson) {
  REQUIRE_GNUPLOT();
  TempDir tmp("finetune");
  ftmamba::experiments::render_finetune_report(finetune_json(), tmp.path);
  ASSERT_TRUE(fs::exists(tmp.path / "finetune.md"));
  EXPECT_FALSE(fs::exists(tmp.path / "finetune.html"));  // markdown only, as before the document model
  expect_figure(tmp.path, "finetune");
  const std::string md = slurp(tmp.path / "finetune.md");
  EXPECT_EQ(md.rfind("# Fine-tuning test\n\nCreated 2026-12-06T03:28:37Z on test machine.\n\n"
                     "`ftmamba compare-finetune --base-data d --data d2 --out ft`\n",
                     0),
            0u)
      << md;
  EXPECT_NE(md.find("segment `premium=free` (102 users), strength 0.7."), std::string::npos);
  EXPECT_NE(md.find("scores HR@10 0.0798 on the fine-tuning data's test split"), std::string::npos);
  const auto t = md_table(md, "# Fine-tuning test");
  ASSERT_EQ(t.size(), 3u);
  ASSERT_EQ(t[0].size(), 11u);
  EXPECT_EQ(t[0][4], "HR@10 \u2212 full fp32");
  EXPECT_EQ(*find_row(t, "full-fp32"),
            (std::vector<std::string>{"full-fp32", "0.3085", "0.1543", "0.1028", "+0.0000", "100.0%",
                                      "0.00e+00 / 0.00e+00", "3254", "235 (max RSS)",
                                      fmt::format("{:.1f}", 235.2 * 1024 / 512), "154688 (100.0%)"}));
  const auto* lora = find_row(t, "lora\\|bf16");
  ASSERT_NE(lora, nullptr) << md;
  ASSERT_EQ(lora->size(), 11u);
  EXPECT_EQ(lora->at(4), fmt::format("{:+.4f}", 0.12771 - 0.30854));
  EXPECT_EQ(lora->at(5), fmt::format("{:.1f}%", 100.0 * (0.12771 - 0.0798) / (0.30854 - 0.0798)));
  EXPECT_EQ(lora->at(6), "1.62e-01 / 1.61e-02");
  EXPECT_EQ(lora->at(10), fmt::format("25856 ({:.1f}%)", 100.0 * 25856 / 180544));
  EXPECT_NE(md.find("![fine-tuning comparison](figures/finetune.png)\n\n**Figure 1.** "), std::string::npos);
  // The figure's data: one row per variant, quoted names.
  EXPECT_EQ(slurp(tmp.path / "figures" / "finetune.dat"),
            "# variant HR@10 train_samples_per_sec KiB_per_sample\n\"full-fp32\" 0.308540 3254.4 470.400\n"
            "\"lora|bf16\" 0.127710 2525.0 516.000\n");
}

// ---- the stability report -----------------------------------------------------------------------------------------

namespace {

json stability_tower(double scale) {
  json layer = {{"layer", 0},
                {"lyapunov_tangent", {{"max", -0.04301 * scale}, {"mean", -0.05}}},
                {"lyapunov_exact", {{"max", -0.00102 * scale}, {"mean", -0.00098 * scale}}},
                {"dt", {{"min", 8.59e-4}, {"mean", 2.05e-2}, {"max", 0.113}}},
                {"A", {{"max", -0.98412}}}};
  json perturbation = json::array();
  for (double eps : {1e-6, 1e-3})
    perturbation.push_back({{"eps", eps},
                            {"output_rel_dev", 0.3191 * scale * eps},
                            {"ratio", 0.3191 * scale},
                            {"layer_rel_dev", {eps, 0.971 * eps}}});
  json precision = json::array({{{"precision", "bf16"},
                                 {"layer_rel_dev", {1.84e-3, 2.53e-3}},
                                 {"output_rel_dev", 3.345e-3 * scale},
                                 {"output_cosine_distance", 4.008e-6}}});
  return {{"layers", {layer}}, {"perturbation", perturbation}, {"precision", precision}};
}

}  // namespace

TEST(StabilityReport, TablesMatchTheJson) {
  REQUIRE_GNUPLOT();
  TempDir tmp("stability");
  json j;
  j["run"] = "runs/mamba_small";
  j["data"] = "data/spotify";
  j["rows"] = 100;
  j["machine"] = "test machine";
  j["towers"] = {{"user", stability_tower(1.0)}, {"item", stability_tower(2.0)}};
  ftmamba::eval::render_stability_report(j, tmp.path);
  ASSERT_TRUE(fs::exists(tmp.path / "stability.md"));
  EXPECT_FALSE(fs::exists(tmp.path / "stability.html"));
  expect_figure(tmp.path, "stability");
  const std::string md = slurp(tmp.path / "stability.md");
  EXPECT_EQ(md.rfind("# Stability of runs/mamba_small\n\n100 rows of each side of `data/spotify`; test machine.\n", 0),
            0u)
      << md;
  const auto user = md_table(md, "## user tower");
  ASSERT_EQ(user.size(), 2u);
  EXPECT_EQ(user[0], (std::vector<std::string>{"layer", "\u03bb_max, tangent estimate", "\u03bb_max, exact (diagonal)",
                                               "mean \u03bb over rows", "dt min / mean / max", "max A"}));
  EXPECT_EQ(user[1], (std::vector<std::string>{"0", "-0.0430", "-0.0010", "-0.0010", "8.59e-04 / 2.05e-02 / 1.13e-01",
                                               "-0.984"}));
  EXPECT_EQ(md_table(md, "## item tower").at(1).at(1), "-0.0860");
  // Alignment: the dt column is text, the others numbers.
  EXPECT_NE(md.find("| ---: | ---: | ---: | ---: | --- | ---: |"), std::string::npos);
  EXPECT_NE(md.find("| 1e-06 | 3.191e-07 | 0.319 | 1.00e-06, 9.71e-07 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 1e-03 | 6.382e-04 | 0.638 | 1.00e-03, 9.71e-04 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| bf16 | 3.345e-03 | 4.008e-06 | 1.84e-03, 2.53e-03 |"), std::string::npos) << md;
  EXPECT_NE(md.find("![deviation against eps](figures/stability.png)\n\n**Figure 1.** "), std::string::npos);
  // One data block per tower, in the order of the tables.
  const std::string dat = slurp(tmp.path / "figures" / "stability.dat");
  EXPECT_LT(dat.find("# item tower"), dat.find("# user tower"));
  EXPECT_NE(dat.find("1.000000e-06 3.191000e-07\n"), std::string::npos) << dat;
}
