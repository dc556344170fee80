// Tests a run folder's integrity: config.json records the SHA-256 of model.safetensors and adapters.safetensors,
// and Run::load refuses a flipped byte or a relabelled tensor naming the file, loads a run written before the
// record with a warning, and validates config.json by train's rules naming the key; and check_before_training
// refuses, before any step, what the data and the config cannot do together (naming eval.sampled_negatives).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "error_message.h"
#include "ftmamba/core/error.h"
#include "ftmamba/experiments/finetune_run.h"
#include "ftmamba/experiments/train_run.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/io/sha256.h"
#include "ftmamba/run/preflight.h"
#include "ftmamba/run/run.h"
#include "ftmamba/run/weight_hashes.h"
#include "generated_data_suite.h"

namespace fs = std::filesystem;
namespace ex = ftmamba::experiments;
namespace run = ftmamba::run;

using ftmamba_test::error_message;

namespace {

nlohmann::json read_json(const fs::path& f) { return nlohmann::json::parse(ftmamba::io::read_file(f)); }
void write_json(const fs::path& f, const nlohmann::json& j) { ftmamba::io::write_file_atomic(f, j.dump(2)); }

class RunIntegrity : public ftmamba_test::GeneratedDataSuite<2000, 7> {
 protected:
  static void SetUpTestSuite() {
    GeneratedDataSuite::SetUpTestSuite();
    ex::TrainRequest r;
    r.data_dir = data_dir();
    r.out_dir = root() / "base";
    r.config.sets = {"train.epochs=1",    "train.batch_size=256", "model.d_token=8",
                     "model.embed_dim=8", "model.n_layers=1",     "train.valid_users=100"};
    r.device = "cpu";
    r.quiet = true;
    ex::train_run(r);
    ex::FinetuneRequest f;
    f.base_run = root() / "base";
    f.data_dir = data_dir();
    f.out_dir = root() / "lora";
    f.options.lora.rank = 2;
    f.options.lora.alpha = 4;
    f.config.sets = {"train.epochs=1"};
    f.device = "cpu";
    f.quiet = true;
    ex::finetune_run(f);
  }
  // A fresh copy of a run folder, to damage.
  static fs::path copy_of(const std::string& run, const std::string& name) {
    const fs::path dir = root() / name;
    fs::remove_all(dir);
    fs::copy(root() / run, dir, fs::copy_options::recursive);
    return dir;
  }
  static void flip_last_byte(const fs::path& file) {
    std::string bytes = ftmamba::io::read_file(file);
    bytes.back() = static_cast<char>(bytes.back() ^ 0x01);
    std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
  }
};

}  // namespace

TEST_F(RunIntegrity, ConfigJsonRecordsTheWeightsSha256) {
  const auto base = read_json(root() / "base" / "config.json");
  EXPECT_EQ(base.at("sha256").at("model.safetensors"), ftmamba::io::sha256_file(root() / "base" / "model.safetensors"));
  EXPECT_FALSE(base.at("sha256").contains("adapters.safetensors"));
  const auto lora = read_json(root() / "lora" / "config.json");
  EXPECT_EQ(lora.at("sha256").at("adapters.safetensors"),
            ftmamba::io::sha256_file(root() / "lora" / "adapters.safetensors"));
  EXPECT_NO_THROW(run::Run::load(root() / "base"));
  EXPECT_NO_THROW(run::Run::load(root() / "lora"));
}

TEST_F(RunIntegrity, AFlippedByteInTheWeightsIsRefusedNamingTheFile) {
  const fs::path dir = copy_of("base", "flipped");
  flip_last_byte(dir / "model.safetensors");
  const std::string msg = error_message([&] { run::Run::load(dir); });
  EXPECT_CONTAINS(msg, (dir / "model.safetensors").string() + ": SHA-256 ");
  EXPECT_CONTAINS(msg, "recorded in config.json");

  const fs::path lora = copy_of("lora", "flipped-lora");
  flip_last_byte(lora / "adapters.safetensors");
  EXPECT_CONTAINS(error_message([&] { run::Run::load(lora); }),
                  (lora / "adapters.safetensors").string() + ": SHA-256 ");
}

// F32 relabelled I32 keeps every byte count, so only the hash, and without it the dtype check, can tell.
TEST_F(RunIntegrity, ATensorRelabelledFromF32ToI32IsRefused) {
  const fs::path dir = copy_of("base", "relabelled");
  std::string bytes = ftmamba::io::read_file(dir / "model.safetensors");
  const auto at = bytes.find("\"F32\"");
  ASSERT_NE(at, std::string::npos);
  bytes.replace(at, 5, "\"I32\"");
  std::ofstream(dir / "model.safetensors", std::ios::binary | std::ios::trunc) << bytes;
  EXPECT_CONTAINS(error_message([&] { run::Run::load(dir); }), "model.safetensors: SHA-256 ");

  auto cfg = read_json(dir / "config.json");
  cfg.erase("sha256");
  write_json(dir / "config.json", cfg);
  const std::string unchecked = error_message([&] { run::Run::load(dir); });
  EXPECT_CONTAINS(unchecked, (dir / "model.safetensors").string() + ": tensor '");
  EXPECT_CONTAINS(unchecked, "has dtype Int, the model expects Float");
}

// A run written before the record loads unchecked, saying so on one line.
TEST_F(RunIntegrity, ARunWithoutTheRecordLoadsWithAWarning) {
  const fs::path dir = copy_of("base", "old");
  auto cfg = read_json(dir / "config.json");
  cfg.erase("sha256");
  write_json(dir / "config.json", cfg);
  testing::internal::CaptureStderr();
  EXPECT_NO_THROW(run::Run::load(dir));
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_CONTAINS(err,
                  "warning: " + (dir / "model.safetensors").string() + ": the run's config.json records no SHA-256");
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}

TEST_F(RunIntegrity, ConfigJsonIsValidatedByTrainsRulesNamingTheKey) {
  const fs::path dir = copy_of("base", "edited");
  const auto original = read_json(dir / "config.json");
  const auto load_with = [&](const std::string& section, const std::string& key, const nlohmann::json& value) {
    auto cfg = original;
    cfg["config"][section][key] = value;
    write_json(dir / "config.json", cfg);
    return error_message([&] { run::Run::load(dir); });
  };
  const std::string cfg_file = (dir / "config.json").string();
  EXPECT_EQ(load_with("model", "d_token", 0),
            cfg_file + ": config: model.d_token must be between 1 and 4096 (user tower) (got 0)");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(load_with("train", "threads", 100000),
            cfg_file + ": config: train.threads must be between 0 and 1024 (got 100000)");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_CONTAINS(load_with("train", "temperature", nullptr), "config 'train.temperature': expected a number");
  EXPECT_CONTAINS(load_with("train", "lr", -1.0), "config: train.lr must be a finite number");
  EXPECT_CONTAINS(load_with("model", "d_state", "16"), "config 'model.d_state': expected an integer");
}

TEST_F(RunIntegrity, TooFewItemsForTheSampledProtocolFailBeforeTraining) {
  run::RunConfig cfg;
  const auto data = run::prepare_data(data_dir(), cfg);
  const int64_t n_items = data.items.size();
  cfg.eval.sampled_negatives = n_items;  // every test user has seen at least one item
  const std::string msg = error_message([&] { run::check_before_training(cfg, data); });
  EXPECT_CONTAINS(msg, "config: eval.sampled_negatives = " + std::to_string(n_items));
  EXPECT_CONTAINS(msg, "of the catalog's " + std::to_string(n_items) + " items");
  cfg.eval.sampled_negatives = 10;
  EXPECT_NO_THROW(run::check_before_training(cfg, data));

  // Through train: refused before any training step, and nothing is written.
  ex::TrainRequest r;
  r.data_dir = data_dir();
  r.out_dir = root() / "too-many-negatives";
  r.config.sets = {"train.epochs=100000", "eval.sampled_negatives=" + std::to_string(n_items)};
  r.device = "cpu";
  r.quiet = true;
  int epochs = 0;
  r.on_epoch = [&](const run::EpochRecord&) { ++epochs; };
  EXPECT_CONTAINS(error_message([&] { ex::train_run(r); }), "eval.sampled_negatives");
  EXPECT_EQ(epochs, 0);
  EXPECT_FALSE(fs::exists(r.out_dir));
}

TEST_F(RunIntegrity, NothingToLearnFromFailsBeforeTraining) {
  run::RunConfig cfg;
  auto data = run::prepare_data(data_dir(), cfg);
  EXPECT_NO_THROW(run::check_before_training(cfg, data));
  data.split.train.resize(1);
  EXPECT_CONTAINS(error_message([&] { run::check_before_training(cfg, data); }),
                  "the training split has 1 interaction(s)");
  data.items = data.items.index_select(torch::zeros({1}, torch::kInt64));
  EXPECT_CONTAINS(error_message([&] { run::check_before_training(cfg, data); }), "the catalog has 1 item(s)");
}

TEST_F(RunIntegrity, OneItemHistoriesAndATinyCatalogAreSaidBeforeTraining) {
  run::RunConfig cfg;
  auto data = run::prepare_data(data_dir(), cfg);
  for (const auto& w : run::data_warnings(data)) EXPECT_EQ(w.find("only one item"), std::string::npos) << w;
  // Every interaction of the first user becomes the same item.
  auto& in = data.dataset.interactions;
  const int64_t user = in.user[0];
  int64_t theirs = 0;
  for (int64_t r = 0; r < in.size(); ++r)
    if (in.user[r] == user) in.item[r] = in.item[0], ++theirs;
  ASSERT_GT(theirs, 1);
  const auto warnings = run::data_warnings(data);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_CONTAINS(warnings[0], "1 of ");
  EXPECT_CONTAINS(warnings[0], "'" + data.dataset.users.ids[user] + "'");
  data.items = data.items.index_select(torch::arange(20));
  EXPECT_CONTAINS(run::data_warnings(data).back(), "the catalog has 20 items");
}

// Past validate()'s limits (a config built in code), the step count's overflow is still caught.
TEST_F(RunIntegrity, AnOverflowingStepCountIsRefused) {
  run::RunConfig cfg;
  const auto data = run::prepare_data(data_dir(), cfg);
  cfg.train.epochs = std::numeric_limits<int64_t>::max() / 2;
  cfg.train.batch_size = 2;
  EXPECT_CONTAINS(error_message([&] { run::check_before_training(cfg, data); }), "train.epochs");
  cfg.train.epochs = 1;
  cfg.train.batch_size = std::numeric_limits<int64_t>::max();
  cfg.train.negatives = 4;
  EXPECT_CONTAINS(error_message([&] { run::check_before_training(cfg, data); }),
                  "train.batch_size * (1 + train.negatives)");
}
