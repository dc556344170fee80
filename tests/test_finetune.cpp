// Fine-tuning end to end (generate --drift, finetune, merge, eval on a LoRA run): the drifted dataset keeps
// the base's tables and every other user's interactions; a LoRA run writes adapters.safetensors in PEFT
// names with the base's path and SHA-256, leaves the base weights untouched, and evaluates as it reported;
// merging gives the same metrics from a standalone folder; a changed base is refused; --full trains every
// weight.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "binary_runner.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/io/safetensors.h"
#include "ftmamba/io/sha256.h"
#include "ftmamba/nn/lora.h"
#include "ftmamba/run/run.h"
#include "ftmamba/train/finetune.h"

namespace fs = std::filesystem;
namespace train = ftmamba::train;
namespace run = ftmamba::run;
namespace io = ftmamba::io;
using ftmamba_test::run_binary;

namespace {

// Rows of a CSV file, split on commas (the generated files quote nothing the tests read).
std::vector<std::vector<std::string>> read_csv(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) cells.push_back(cell);
    rows.push_back(cells);
  }
  return rows;
}

nlohmann::json read_json(const fs::path& f) { return nlohmann::json::parse(ftmamba::io::read_file(f)); }

class Finetune : public ::testing::Test {
 protected:
  static fs::path dir;
  static const std::string small;  // a small model and few epochs, for every training here
  static void SetUpTestSuite() {
    dir = fs::temp_directory_path() / ("ftmamba_finetune_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    for (const std::string& args :
         {"generate --preset spotify --pairs 6000 --seed 4 --out " + (dir / "base").string(),
          "generate --preset spotify --pairs 6000 --seed 4 --drift premium=free "
          "--drift-strength 0.8 --out " +
              (dir / "drift").string(),
          "train --data " + (dir / "base").string() + " --out " + (dir / "run-base").string() + small,
          "finetune --run " + (dir / "run-base").string() + " --data " + (dir / "drift").string() + " --out " +
              (dir / "run-lora").string() + " --lora.rank 4 --lora.alpha 8" + small}) {
      const auto r = run_binary(args);
      ASSERT_EQ(r.code, 0) << args << "\n" << r.out;
    }
  }
  static void TearDownTestSuite() { fs::remove_all(dir); }
};
fs::path Finetune::dir;
const std::string Finetune::small =
    " --quiet --set train.epochs=2 --set train.batch_size=256 --set model.d_token=16 --set model.embed_dim=16";

}  // namespace

TEST(FinetuneHash, Sha256MatchesTheStandardDigest) {
  const fs::path f = fs::temp_directory_path() / ("ftmamba_sha_" + std::to_string(::getpid()));
  ftmamba::io::write_file_atomic(f, "abc");
  EXPECT_EQ(io::sha256_file(f), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  fs::remove(f);
}

TEST_F(Finetune, DriftChangesOnlyTheSegmentsInteractions) {
  EXPECT_EQ(ftmamba::io::read_file(dir / "base" / "users.csv"), ftmamba::io::read_file(dir / "drift" / "users.csv"));
  EXPECT_EQ(ftmamba::io::read_file(dir / "base" / "items.csv"), ftmamba::io::read_file(dir / "drift" / "items.csv"));
  const auto users = read_csv(dir / "base" / "users.csv");
  size_t premium = 0;
  for (size_t c = 0; c < users[0].size(); ++c)
    if (users[0][c] == "premium") premium = c;
  std::set<std::string> segment;
  for (size_t r = 1; r < users.size(); ++r)
    if (users[r][premium] == "free") segment.insert(users[r][0]);
  ASSERT_GT(segment.size(), 10u);
  ASSERT_LT(segment.size(), users.size() - 1);

  // Each user's items, as sets: outside the segment they are equal, inside most users' differ.
  const auto items_of = [](const fs::path& f) {
    std::map<std::string, std::multiset<std::string>> m;
    const auto rows = read_csv(f);
    for (size_t r = 1; r < rows.size(); ++r) m[rows[r][0]].insert(rows[r][1]);
    return m;
  };
  const auto before = items_of(dir / "base" / "interactions.csv"), after = items_of(dir / "drift" / "interactions.csv");
  ASSERT_EQ(before.size(), after.size());
  size_t changed_in = 0, changed_out = 0;
  for (const auto& [user, items] : before) {
    const bool changed = after.at(user) != items;
    (segment.count(user) ? changed_in : changed_out) += changed;
  }
  EXPECT_EQ(changed_out, 0u);
  EXPECT_GT(changed_in, segment.size() / 2);
  const auto meta = read_json(dir / "drift" / "dataset.json");
  EXPECT_EQ(meta["drift"]["segment"], "premium=free");
  EXPECT_EQ(meta["drift"]["users"].get<size_t>(), segment.size());

  const auto bad =
      run_binary("generate --preset spotify --pairs 6000 --drift premium=gold --out " + (dir / "x").string());
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.out.find("the levels of premium are: "), std::string::npos) << bad.out;
  EXPECT_FALSE(fs::exists(dir / "x"));
}

TEST_F(Finetune, LoraRunHasPeftAdaptersAndAnUntouchedBase) {
  const fs::path lora = dir / "run-lora";
  EXPECT_FALSE(fs::exists(lora / "model.safetensors"));
  std::map<std::string, std::string> meta;
  const auto adapters = ftmamba::io::load_safetensors(lora / "adapters.safetensors", &meta);
  EXPECT_EQ(meta.at("base_model_sha256"), io::sha256_file(dir / "run-base" / "model.safetensors"));
  EXPECT_EQ(fs::path(meta.at("base_run")), fs::absolute(dir / "run-base").lexically_normal());
  // 2 towers x 2 layers x 4 projections, each with lora_A (4, in) and lora_B (out, 4).
  EXPECT_EQ(adapters.size(), 32u);
  const auto& a = adapters.at("base_model.model.user_tower.layers.0.mixer.in_proj.lora_A.weight");
  const auto& b = adapters.at("base_model.model.user_tower.layers.0.mixer.in_proj.lora_B.weight");
  EXPECT_EQ(a.sizes(), torch::IntArrayRef({4, 16}));
  EXPECT_EQ(b.sizes(), torch::IntArrayRef({64, 4}));
  EXPECT_GT(b.abs().max().item<double>(), 0.0) << "lora_B starts at zero: training must have moved it";

  const auto cfg = read_json(lora / "config.json");
  EXPECT_EQ(cfg["finetune"]["mode"], "lora");
  EXPECT_EQ(cfg["finetune"]["adapted"].size(), 16u);
  const auto metrics = read_json(lora / "metrics.json");
  const int64_t trainable = metrics["trainable_parameters"].get<int64_t>();
  int64_t adapter_numel = 0;
  for (const auto& [name, t] : adapters) adapter_numel += t.numel();
  EXPECT_EQ(trainable, adapter_numel);
  EXPECT_LT(trainable, metrics["parameters"].get<int64_t>() / 2);

  // The base weights inside the LoRA run are the base run's, bit for bit.
  const auto base = run::Run::load(dir / "run-base");
  const auto tuned = run::Run::load(lora);
  std::map<std::string, torch::Tensor> base_params;
  for (const auto& p : base.model->named_parameters()) base_params[p.key()] = p.value();
  size_t compared = 0;
  for (const auto& p : tuned.model->named_parameters()) {
    if (ftmamba::nn::is_lora_parameter(p.key())) continue;
    EXPECT_TRUE(torch::equal(p.value(), base_params.at(p.key()))) << p.key();
    ++compared;
  }
  EXPECT_EQ(compared, base_params.size());

  const auto peft = read_json(lora / "adapter_config.json");
  EXPECT_EQ(peft["peft_type"], "LORA");
  EXPECT_EQ(peft["r"], 4);
}

TEST_F(Finetune, EvalOfALoraRunAndOfItsMergeReproduceItsMetrics) {
  const auto eval = [](const fs::path& run) {
    const auto r = run_binary("eval --json --run " + run.string());
    EXPECT_EQ(r.code, 0) << r.out;
    return nlohmann::json::parse(r.out.substr(r.out.find('{')));
  };
  const auto stored = read_json(dir / "run-lora" / "metrics.json")["test"]["full"]["model"];
  const auto lora = eval(dir / "run-lora")["full"]["model"];
  EXPECT_NEAR(lora["HR@10"].get<double>(), stored["HR@10"].get<double>(), 1e-9);

  const auto m = run_binary("merge --run " + (dir / "run-lora").string() + " --out " + (dir / "run-merged").string());
  ASSERT_EQ(m.code, 0) << m.out;
  const auto at = m.out.find("embedding difference ");
  ASSERT_NE(at, std::string::npos) << m.out;
  EXPECT_LT(std::stod(m.out.substr(at + 21)), 1e-5) << m.out;
  EXPECT_TRUE(fs::exists(dir / "run-merged" / "model.safetensors"));
  EXPECT_FALSE(fs::exists(dir / "run-merged" / "adapters.safetensors"));
  const auto merged = eval(dir / "run-merged")["full"]["model"];
  for (const char* k : {"HR@10", "NDCG@10", "MRR@10"})
    EXPECT_NEAR(merged[k].get<double>(), lora[k].get<double>(), 1e-6) << k;
  // The merged model has the base's parameter names only (no adapters left).
  const auto w = ftmamba::io::load_safetensors(dir / "run-merged" / "model.safetensors");
  for (const auto& [name, t] : w) EXPECT_FALSE(ftmamba::nn::is_lora_parameter(name)) << name;

  const auto again = run_binary("merge --run " + (dir / "run-merged").string() + " --out " + (dir / "y").string());
  EXPECT_NE(again.code, 0);
  EXPECT_NE(again.out.find("not a LoRA run"), std::string::npos) << again.out;
}

TEST_F(Finetune, AChangedBaseIsRefusedAndFullFinetuningTrainsEveryWeight) {
  // A LoRA run on a copy of the base; then the copy's weights change under it.
  fs::copy(dir / "run-base", dir / "base-copy", fs::copy_options::recursive);
  const auto ft = run_binary("finetune --run " + (dir / "base-copy").string() + " --data " + (dir / "drift").string() +
                             " --out " + (dir / "run-lora2").string() + " --set train.epochs=1 --quiet");
  ASSERT_EQ(ft.code, 0) << ft.out;
  auto w = ftmamba::io::load_safetensors(dir / "base-copy" / "model.safetensors");
  w.begin()->second.add_(1.0);
  ftmamba::io::save_safetensors(dir / "base-copy" / "model.safetensors", {w.begin(), w.end()});
  const auto r = run_binary("eval --run " + (dir / "run-lora2").string());
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("the base these adapters were trained on"), std::string::npos) << r.out;

  const auto bad = run_binary("finetune --run " + (dir / "run-base").string() + " --data " + (dir / "drift").string() +
                              " --out " + (dir / "z").string() + " --lora.targets no_such_layer");
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.out.find("user_tower.layers.0.mixer.in_proj"), std::string::npos) << bad.out;
  EXPECT_FALSE(fs::exists(dir / "z"));

  const auto full = run_binary("finetune --full --run " + (dir / "run-base").string() + " --data " +
                               (dir / "drift").string() + " --out " + (dir / "run-full").string() + small);
  ASSERT_EQ(full.code, 0) << full.out;
  const auto metrics = read_json(dir / "run-full" / "metrics.json");
  EXPECT_EQ(metrics["trainable_parameters"], metrics["parameters"]);
  EXPECT_TRUE(fs::exists(dir / "run-full" / "model.safetensors"));
  // Every weight moved away from the base (the frozen-base LoRA run above moved none).
  const auto base = ftmamba::io::load_safetensors(dir / "run-base" / "model.safetensors");
  const auto tuned = ftmamba::io::load_safetensors(dir / "run-full" / "model.safetensors");
  size_t moved = 0;
  for (const auto& [name, t] : base) moved += !torch::equal(t, tuned.at(name));
  EXPECT_GT(moved, base.size() * 3 / 4);
}
