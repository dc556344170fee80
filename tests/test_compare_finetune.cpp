// Tests `ftmamba compare-finetune` end to end on tiny data: a base model and two fine-tuning variants write
// finetune.json, finetune.md and the figure; every row's numbers are those of its run's metrics.json and record;
// a rerun reuses every finished run; bad variants fail before any training.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "binary_runner.h"
#include "ftmamba/io/atomic_file.h"

namespace fs = std::filesystem;
using ftmamba_test::run_binary;

namespace {

class CompareFinetune : public ::testing::Test {
 protected:
  static fs::path dir, report;
  static std::string first_output;
  static std::string compare_args() {
    return "compare-finetune --base-data " + (dir / "base").string() + " --data " + (dir / "drift").string() +
           " --out " + report.string() +
           " --variants full-fp32,lora-fp32 --device cpu --lora.rank 4 --set train.epochs=1 --set model.d_token=16"
           " --set model.embed_dim=16 --set model.n_layers=1 --set train.valid_users=150 --set train.batch_size=256";
  }
  static void SetUpTestSuite() {
    dir = fs::temp_directory_path() / ("ftmamba_compare_finetune_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    report = dir / "report";
    for (const std::string& args :
         {"generate --preset spotify --pairs 3000 --seed 2 --out " + (dir / "base").string(),
          "generate --preset spotify --pairs 3000 --seed 2 --drift premium=free --drift-strength 0.8 --out " +
              (dir / "drift").string()}) {
      const auto g = run_binary(args);
      ASSERT_EQ(g.code, 0) << args << "\n" << g.out;
    }
    const auto c = run_binary(compare_args());
    ASSERT_EQ(c.code, 0) << c.out;
    first_output = c.out;
  }
  static void TearDownTestSuite() { fs::remove_all(dir); }
  static nlohmann::json read(const fs::path& f) { return nlohmann::json::parse(ftmamba::io::read_file(f)); }
};
fs::path CompareFinetune::dir, CompareFinetune::report;
std::string CompareFinetune::first_output;

TEST_F(CompareFinetune, WritesEveryFileAndTrainsEachRunOnce) {
  for (const char* f : {"finetune.json", "finetune.md", "figures/finetune.svg", "runs/base/metrics.json",
                        "runs/base/compare.json", "runs/full-fp32/compare.json", "runs/lora-fp32/compare.json"})
    EXPECT_TRUE(fs::exists(report / f)) << f;
  for (const char* what : {"base model: training (log ", "[1/2] full-fp32: training (log ",
                           "[2/2] lora-fp32: training (log ", "report written to "})
    EXPECT_NE(first_output.find(what), std::string::npos) << what << " not in\n" << first_output;
  EXPECT_EQ(first_output.find("reusing"), std::string::npos);
}

TEST_F(CompareFinetune, RowsAreTheRunsOwnNumbers) {
  const auto j = read(report / "finetune.json");
  EXPECT_NE(j["command"].get<std::string>().find("--variants full-fp32,lora-fp32 --device cpu"), std::string::npos)
      << j["command"];
  const auto base = read(report / "runs" / "base" / "metrics.json");
  EXPECT_EQ(j["base"]["HR@10_on_base_data"], base["test"]["full"]["model"]["HR@10"]);
  ASSERT_EQ(j["variants"].size(), 2u);
  const auto full = read(report / "runs" / "full-fp32" / "metrics.json");
  const double full_hr10 = full["test"]["full"]["model"]["HR@10"];
  for (const auto& row : j["variants"]) {
    const std::string name = row["name"];
    const fs::path run = report / "runs" / name;
    const auto m = read(run / "metrics.json");
    EXPECT_EQ(row["run"], "runs/" + name);
    EXPECT_EQ(row["test"], m["test"]["full"]["model"]) << name;
    EXPECT_EQ(row["train_samples_per_sec"], m["train_samples_per_sec"]) << name;
    EXPECT_EQ(row["total_parameters"], m["parameters"]) << name;
    // On the CPU the memory is the fine-tuning process's peak RSS, as its record holds it.
    EXPECT_EQ(row["memory_measure"], "max RSS");
    EXPECT_EQ(row["peak_memory_mib"], read(run / "compare.json")["peak_rss_mib"]) << name;
    EXPECT_DOUBLE_EQ(row["hr10_minus_full_fp32"].get<double>(),
                     m["test"]["full"]["model"]["HR@10"].get<double>() - full_hr10);
    EXPECT_EQ(row["batch_size"], 256);
  }
  const auto& f = j["variants"][0];
  const auto& l = j["variants"][1];
  EXPECT_EQ(f["name"], "full-fp32");
  EXPECT_EQ(f["mode"], "full");
  EXPECT_EQ(l["name"], "lora-fp32");
  EXPECT_EQ(l["mode"], "lora");
  EXPECT_EQ(f["trainable_parameters"], f["total_parameters"]);
  EXPECT_LT(l["trainable_parameters"].get<int64_t>(), f["trainable_parameters"].get<int64_t>());
  EXPECT_EQ(f["cosine_distance_to_full_fp32"]["users"], 0.0);
  EXPECT_GT(l["cosine_distance_to_full_fp32"]["users"].get<double>(), 0.0);
  EXPECT_NE(ftmamba::io::read_file(report / "finetune.md").find("lora-fp32"), std::string::npos);
}

TEST_F(CompareFinetune, RerunReusesEveryFinishedRun) {
  const fs::path weights = report / "runs" / "base" / "model.safetensors";
  const auto before = fs::last_write_time(weights);
  const auto r = run_binary(compare_args());
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* what : {"base model: reusing ", "[1/2] full-fp32: reusing ", "[2/2] lora-fp32: reusing "})
    EXPECT_NE(r.out.find(what), std::string::npos) << what << " not in\n" << r.out;
  EXPECT_EQ(r.out.find("training (log"), std::string::npos) << r.out;
  EXPECT_EQ(fs::last_write_time(weights), before);
}

TEST_F(CompareFinetune, BadVariantsFailBeforeTraining) {
  const std::string common = " --base-data " + (dir / "base").string() + " --data " + (dir / "drift").string() +
                             " --device cpu --out " + (dir / "bad").string();
  const auto no_reference = run_binary("compare-finetune --variants lora-fp32" + common);
  EXPECT_NE(no_reference.code, 0);
  EXPECT_NE(no_reference.out.find("--variants must include full-fp32"), std::string::npos) << no_reference.out;
  const auto unknown = run_binary("compare-finetune --variants full-fp32,half-fp32" + common);
  EXPECT_NE(unknown.code, 0);
  EXPECT_NE(unknown.out.find("--variants: "), std::string::npos) << unknown.out;
  EXPECT_FALSE(fs::exists(dir / "bad"));
}

}  // namespace
