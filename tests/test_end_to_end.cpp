// End-to-end tests of the ftmamba binary: generate -> train -> eval -> recommend -> encode on a small
// synthetic dataset; the model must clearly beat the popularity baseline; bad input must fail cleanly
// with one line naming file and line, and leave no run folder behind; training is deterministic.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "binary_runner.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/io/safetensors.h"

namespace fs = std::filesystem;

namespace {

using Result = ftmamba_test::BinaryResult;
using ftmamba_test::run_binary;
Result run(const std::string& args) { return run_binary(args); }

class EndToEnd : public ::testing::Test {
 protected:
  static fs::path dir, data, run_dir;
  static void SetUpTestSuite() {
    dir = fs::temp_directory_path() / ("ftmamba_e2e_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    data = dir / "data";
    run_dir = dir / "run";
    auto g = run("generate --preset spotify --pairs 12000 --seed 5 --out " + data.string());
    ASSERT_EQ(g.code, 0) << g.out;
    auto t = run("train --data " + data.string() + " --out " + run_dir.string() +
                 " --quiet --set train.epochs=6 --set train.batch_size=256 --set model.d_token=32"
                 " --set model.embed_dim=32");
    ASSERT_EQ(t.code, 0) << t.out;
  }
  static void TearDownTestSuite() { fs::remove_all(dir); }
  static nlohmann::json metrics() { return nlohmann::json::parse(ftmamba::io::read_file(run_dir / "metrics.json")); }
};
fs::path EndToEnd::dir, EndToEnd::data, EndToEnd::run_dir;

}  // namespace

TEST_F(EndToEnd, RunFolderHasEveryFile) {
  for (const char* f : {"config.json", "model.safetensors", "metrics.json", "history.jsonl",
                        "sampled_negatives.safetensors", "inference.safetensors"})
    EXPECT_TRUE(fs::exists(run_dir / f)) << f;
  std::ifstream hist(run_dir / "history.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(hist, line)) {
    auto j = nlohmann::json::parse(line);
    for (const char* k : {"epoch", "loss", "seconds", "samples_per_sec", "valid"}) EXPECT_TRUE(j.contains(k)) << k;
    EXPECT_EQ(j["epoch"].get<int>(), ++lines);
  }
  EXPECT_GE(lines, 1);
  auto w = ftmamba::io::load_safetensors(run_dir / "model.safetensors");
  EXPECT_TRUE(w.count("user_tower.layers.0.mixer.in_proj.weight"));
  EXPECT_TRUE(w.count("item_tower.layers.1.mixer.A_log"));
  EXPECT_TRUE(w.count("item_tower.norm_f.weight"));
  for (const auto& e : fs::directory_iterator(dir)) EXPECT_EQ(e.path().string().find(".partial"), std::string::npos);
}

TEST_F(EndToEnd, ModelBeatsPopularityAndOracleBoundsIt) {
  auto m = metrics()["test"]["full"];
  const double model = m["model"]["HR@10"], pop = m["popularity"]["HR@10"], oracle = m["oracle"]["HR@10"];
  EXPECT_GT(model, 1.5 * pop) << "model " << model << " popularity " << pop;
  EXPECT_GT(oracle, pop);
  EXPECT_LT(oracle, 0.95);
  // Nothing beats the noise-free true utility by more than sampling noise.
  const double truth = m["true-utility"]["HR@10"];
  EXPECT_GT(truth, oracle);
  EXPECT_LT(model, truth);
  EXPECT_GT(metrics()["test"]["sampled"]["model"]["HR@10"].get<double>(), model);  // 101 candidates are easier
}

TEST_F(EndToEnd, EvalReproducesTheStoredMetrics) {
  auto r = run("eval --run " + run_dir.string() + " --json");
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j, metrics()["test"]);
  auto table = run("eval --run " + run_dir.string());
  EXPECT_NE(table.out.find("oracle"), std::string::npos);
  EXPECT_NE(table.out.find("popularity"), std::string::npos);
}

TEST_F(EndToEnd, RecommendKnownUnknownAndColdStartUsers) {
  auto r = run("recommend --run " + run_dir.string() + " --user U00001 --k 5 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["items"].size(), 5u);
  // No item the user already interacted with is recommended, and scores are sorted.
  std::ifstream inter(data / "interactions.csv");
  std::string line, header;
  std::getline(inter, header);
  std::set<std::string> seen;
  while (std::getline(inter, line))
    if (line.rfind("U00001,", 0) == 0) seen.insert(line.substr(7, line.find(',', 7) - 7));
  ASSERT_FALSE(seen.empty());
  double prev = 1e9;
  for (const auto& it : j["items"]) {
    EXPECT_FALSE(seen.count(it["item"].get<std::string>()));
    EXPECT_LE(it["score"].get<double>(), prev);
    prev = it["score"].get<double>();
  }
  auto unknown = run("recommend --run " + run_dir.string() + " --user NOBODY --k 5");
  EXPECT_NE(unknown.code, 0);
  EXPECT_NE(unknown.out.find("unknown user 'NOBODY'"), std::string::npos) << unknown.out;
  auto cold =
      run("recommend --run " + run_dir.string() + " --user NEW1 --k 3 --json --feature age=31 --feature country=ZZ");
  ASSERT_EQ(cold.code, 0) << cold.out;
  EXPECT_EQ(nlohmann::json::parse(cold.out)["items"].size(), 3u);
  auto badfeat = run("recommend --run " + run_dir.string() + " --user NEW1 --feature shoe_size=3");
  EXPECT_NE(badfeat.code, 0);
  EXPECT_NE(badfeat.out.find("shoe_size"), std::string::npos) << badfeat.out;
}

TEST_F(EndToEnd, EncodeWritesEmbeddingsIdsAndInputs) {
  const fs::path out = dir / "items.safetensors";
  auto r = run("encode --run " + run_dir.string() + " --side item --with-inputs --out " + out.string());
  ASSERT_EQ(r.code, 0) << r.out;
  std::map<std::string, std::string> meta;
  auto t = ftmamba::io::load_safetensors(out, &meta);
  auto ids = nlohmann::json::parse(meta.at("ids"));
  const int64_t n = static_cast<int64_t>(ids.size());
  EXPECT_EQ(ids[0], "T00001");
  EXPECT_EQ(t.at("embeddings").size(0), n);
  EXPECT_EQ(t.at("embeddings").size(1), 32);
  EXPECT_NEAR(t.at("embeddings")[0].norm().item<double>(), 1.0, 1e-4);
  EXPECT_EQ(t.at("numerical").size(0), n);
  EXPECT_EQ(t.at("categorical").size(0), n);
  EXPECT_EQ(t.at("categorical").scalar_type(), torch::kInt64);
}

TEST_F(EndToEnd, BadInputFailsOnOneLineAndLeavesNoRunFolder) {
  const fs::path bad = dir / "bad";
  fs::copy(data, bad, fs::copy_options::recursive);
  {
    std::ofstream f(bad / "interactions.csv", std::ios::app);
    f << "U_GHOST,T0,99999\n";
  }
  const fs::path out = dir / "run_bad";
  auto r = run("train --quiet --data " + bad.string() + " --out " + out.string());
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("interactions.csv:12002"), std::string::npos) << r.out;  // header + 12000 rows + 1
  EXPECT_NE(r.out.find("U_GHOST"), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  EXPECT_FALSE(fs::exists(out));
  for (const auto& e : fs::directory_iterator(dir)) EXPECT_EQ(e.path().string().find("run_bad."), std::string::npos);
  auto unknown_key = run("train --quiet --data " + data.string() + " --out " + out.string() + " --set train.lr8=1");
  EXPECT_NE(unknown_key.code, 0);
  EXPECT_NE(unknown_key.out.find("train.lr8"), std::string::npos);
  EXPECT_FALSE(fs::exists(out));
  // A device that is not there: one line naming the reason, before any work, and no run folder.
  if (!torch::cuda::is_available()) {
    auto no_gpu = run("train --quiet --device cuda --data " + data.string() + " --out " + out.string());
    EXPECT_NE(no_gpu.code, 0);
    EXPECT_NE(no_gpu.out.find("--device cuda: no CUDA GPU is visible"), std::string::npos) << no_gpu.out;
    EXPECT_EQ(std::count(no_gpu.out.begin(), no_gpu.out.end(), '\n'), 1) << no_gpu.out;
    EXPECT_FALSE(fs::exists(out));
  }
}

// Bitwise determinism is a CPU promise: on a GPU the embedding-gather backward accumulates with atomics.
TEST_F(EndToEnd, TrainingIsDeterministicForASeed) {
  const std::string args =
      "train --quiet --device cpu --data " + data.string() +
      " --set train.epochs=1 --set model.d_token=16 --set model.n_layers=1 --set train.valid_users=200";
  ASSERT_EQ(run(args + " --out " + (dir / "d1").string()).code, 0);
  ASSERT_EQ(run(args + " --out " + (dir / "d2").string()).code, 0);
  EXPECT_EQ(ftmamba::io::read_file(dir / "d1" / "model.safetensors"),
            ftmamba::io::read_file(dir / "d2" / "model.safetensors"));
  ASSERT_EQ(run(args + " --set train.seed=2 --out " + (dir / "d3").string()).code, 0);
  EXPECT_NE(ftmamba::io::read_file(dir / "d1" / "model.safetensors"),
            ftmamba::io::read_file(dir / "d3" / "model.safetensors"));
}

// A different encoder per tower trains, evaluates and serves: FT-Mamba users, FT-Transformer items. The run's
// config and weights record each tower's own model, and recommend rebuilds both from the run folder.
TEST_F(EndToEnd, MixedTowersTrainAndRecommend) {
  const fs::path mixed = dir / "mixed";
  auto t = run("train --data " + data.string() + " --out " + mixed.string() +
               " --quiet --set train.epochs=1 --set train.batch_size=256 --set model.d_token=16"
               " --set model.embed_dim=16 --set model.item.type=ft-transformer --set model.item.n_heads=4");
  ASSERT_EQ(t.code, 0) << t.out;
  auto w = ftmamba::io::load_safetensors(mixed / "model.safetensors");
  EXPECT_TRUE(w.count("user_tower.layers.0.mixer.A_log"));
  EXPECT_TRUE(w.count("item_tower.blocks.0.attention.W_q.weight"));
  EXPECT_FALSE(w.count("item_tower.layers.0.mixer.A_log"));
  EXPECT_FALSE(w.count("user_tower.blocks.0.attention.W_q.weight"));
  const auto m = nlohmann::json::parse(ftmamba::io::read_file(mixed / "metrics.json"));
  EXPECT_GT(m["test"]["full"]["model"]["HR@10"].get<double>(), 0.0);
  auto r = run("recommend --run " + mixed.string() + " --user U00001 --k 3 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(nlohmann::json::parse(r.out)["items"].size(), 3u);
}
