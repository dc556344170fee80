// Tests RunConfig: TOML loading, --set overrides, unknown keys as errors, and the JSON/TOML round trips.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "ftmamba/core/error.h"
#include "ftmamba/run/config.h"

namespace fs = std::filesystem;
using ftmamba::run::RunConfig;

static fs::path write_temp(const std::string& name, const std::string& text) {
  auto p = fs::temp_directory_path() / ("ftmamba_cfg_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(p) << text;
  return p;
}

TEST(Config, TomlThenSetOverrides) {
  RunConfig c;
  c.load_toml(write_temp("a.toml", "[model]\nd_token = 32\n[train]\nlr = 1\nloss = \"bce\"\nlogq = false\n"));
  EXPECT_EQ(c.model.d_token, 32);
  EXPECT_DOUBLE_EQ(c.train.lr, 1.0);  // an integer widens to a float key
  EXPECT_EQ(c.train.loss, ftmamba::run::LossKind::kBce);
  EXPECT_FALSE(c.train.logq);
  c.set_assignment("train.epochs=3");
  c.set("model.l2_normalize", "false");
  EXPECT_EQ(c.train.epochs, 3);
  EXPECT_FALSE(c.model.l2_normalize);
}

TEST(Config, UnknownKeysAndBadValuesAreErrors) {
  RunConfig c;
  try {
    c.load_toml(write_temp("b.toml", "[train]\nlearning_rate = 0.1\n"));
    FAIL() << "unknown key accepted";
  } catch (const ftmamba::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("b.toml: key 'train.learning_rate': unknown key"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("(line 2)"), std::string::npos) << e.what();
  }
  try {  // the line of the value, past a comment and a blank line
    c.load_toml(write_temp("c.toml", "# run\n[model]\nd_token = 32\n\n[train]\nepochs = \"many\"\n"));
    FAIL() << "a string accepted for an integer";
  } catch (const ftmamba::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("c.toml: key 'train.epochs': expected an integer (line 6)"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(c.set("train.epoch", "3"), ftmamba::Error);
  EXPECT_THROW(c.set("train.epochs", "3.5"), ftmamba::Error);
  EXPECT_THROW(c.set_assignment("train.epochs"), ftmamba::Error);
  // An enum key refuses an unknown name where it enters, naming the choices.
  try {
    c.set("train.loss", "hinge");
    FAIL() << "hinge must be refused";
  } catch (const ftmamba::Error& e) {
    EXPECT_NE(std::string(e.what()).find("expected one of softmax, bce, mse, got 'hinge'"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(c.train.loss, ftmamba::run::LossKind::kSoftmax);  // unchanged
}

TEST(Config, JsonAndTomlRoundTrip) {
  RunConfig a;
  a.set("model.n_layers", "3");
  a.set("train.temperature", "0.125");
  a.set("data.split", "random");
  a.set("train.logq", "false");
  RunConfig b = RunConfig::from_json(a.to_json());
  EXPECT_EQ(b.to_json(), a.to_json());
  RunConfig c;
  c.load_toml(write_temp("d.toml", a.to_toml()));
  EXPECT_EQ(c.to_json(), a.to_json());
  EXPECT_EQ(c.model.n_layers, 3);
  EXPECT_DOUBLE_EQ(c.train.temperature, 0.125);
}

TEST(Config, PerTowerOverrides) {
  RunConfig c;
  c.set("model.d_token", "32");
  c.set("model.item.type", "ft-transformer");
  c.set("model.item.n_heads", "4");
  EXPECT_EQ(ftmamba::enum_name(c.tower("user").type), "ft-mamba");
  EXPECT_EQ(ftmamba::enum_name(c.tower("item").type), "ft-transformer");
  EXPECT_EQ(c.tower("item").n_heads, 4);
  EXPECT_EQ(c.tower("item").d_token, 32);  // shared keys still reach the overridden tower
  EXPECT_EQ(c.tower("user").n_heads, 8);
  EXPECT_EQ(c.model_label(), "user=ft-mamba,item=ft-transformer");
  c.validate();
  // Bad override keys and values are reported under their full key.
  EXPECT_THROW(c.set("model.item.heads", "4"), ftmamba::Error);
  EXPECT_THROW(c.set("model.user.d_token", "wide"), ftmamba::Error);
  EXPECT_THROW(c.tower("middle"), ftmamba::Error);

  // JSON and TOML round trips keep the overrides, typed.
  const RunConfig j = RunConfig::from_json(c.to_json());
  EXPECT_EQ(ftmamba::enum_name(j.tower("item").type), "ft-transformer");
  EXPECT_EQ(j.tower("item").n_heads, 4);
  RunConfig t;
  t.load_toml(write_temp("tower.toml", c.to_toml()));
  EXPECT_EQ(ftmamba::enum_name(t.tower("item").type), "ft-transformer");
  EXPECT_EQ(t.tower("item").n_heads, 4);
  EXPECT_EQ(ftmamba::enum_name(t.tower("user").type), "ft-mamba");
  EXPECT_NE(c.to_toml().find("[model.item]\nn_heads = 4\ntype = \"ft-transformer\""), std::string::npos) << c.to_toml();
}

TEST(Config, ValidatesTransformerSettingsPerTower) {
  RunConfig c;
  c.set("model.type", "ft-transformer");
  c.set("model.d_token", "20");  // not a multiple of 8 heads
  EXPECT_THROW(c.validate(), ftmamba::Error);
  c.set("model.n_heads", "4");
  c.validate();
  c.set("model.user.embed_dim", "32");  // the towers' embedding sizes must agree
  EXPECT_THROW(c.validate(), ftmamba::Error);
  c.set("model.item.embed_dim", "32");
  c.validate();
  EXPECT_THROW(c.set("model.user.type", "ft-lstm"), ftmamba::Error);  // refused where it enters
}

namespace {
// The message validate() throws after `key=value` is set on a default config; "" when it accepts it.
std::string validate_error(const std::string& key, const std::string& value) {
  RunConfig c;
  c.set(key, value);
  try {
    c.validate();
  } catch (const ftmamba::Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

// Sizes get documented limits (config_limits.h, docs/CONFIGURATION.md), with errors naming the key and the value, so
// that a typo fails at once instead of in bad_alloc, a hang, or an overflowed step count.
TEST(Config, SizesAndThreadsHaveLimitsNamingTheKey) {
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(validate_error("train.threads", "100000"), "config: train.threads must be between 0 and 1024 (got 100000)");
  EXPECT_EQ(validate_error("model.d_token", "0"),
            "config: model.d_token must be between 1 and 4096 (user tower) (got 0)");
  EXPECT_EQ(validate_error("train.batch_size", "9223372036854775807"),
            "config: train.batch_size must be between 2 and 1048576 (got 9223372036854775807)");
  const std::vector<std::pair<std::string, std::string>> too_big = {{"model.d_token", "1000000"},
                                                                    {"model.d_state", "1000000"},
                                                                    {"model.n_layers", "100000"},
                                                                    {"model.expand", "1000"},
                                                                    {"model.d_conv", "1000"},
                                                                    {"model.n_heads", "100000"},
                                                                    {"model.d_ffn", "10000000"},
                                                                    {"model.embed_dim", "100000"},
                                                                    {"train.epochs", "10000000"},
                                                                    {"train.negatives", "100000000"},
                                                                    {"eval.sampled_negatives", "100000000"},
                                                                    {"eval.batch_size", "100000000"},
                                                                    {"train.cpu_row_bucket", "100000000"},
                                                                    {"train.patience", "100000000"},
                                                                    {"train.threads", "-1"},
                                                                    {"model.item.d_state", "65"}};
  for (const auto& [key, value] : too_big) {
    const std::string msg = validate_error(key, value);
    const std::string named = key.rfind("model.item.", 0) == 0 ? "model." + key.substr(11) : key;
    EXPECT_NE(msg.find("config: " + named + " must be between"), std::string::npos) << key << ": " << msg;
  }
  EXPECT_EQ(validate_error("model.d_state", "64"), "");
  EXPECT_EQ(validate_error("train.threads", "1024"), "");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(Config, NumbersMustBeFiniteAndInRange) {
  EXPECT_EQ(validate_error("train.temperature", "inf"),
            "config: train.temperature must be a finite number in "
            "[0.0001, 10000.0] (got inf)");
  for (const char* key : {"train.lr", "train.weight_decay", "train.temperature", "train.grad_clip", "train.warmup_frac",
                          "train.min_lr_ratio", "model.ffn_dropout"}) {
    for (const char* v : {"nan", "inf", "-inf", "-1", "1e300"}) {
      const std::string msg = validate_error(key, v);
      EXPECT_NE(msg.find(std::string("config: ") + key + " must be a finite number in"), std::string::npos)
          << key << "=" << v << ": " << msg;
    }
  }
  EXPECT_NE(validate_error("train.lr", "0").find("train.lr"), std::string::npos);
  EXPECT_EQ(validate_error("train.lr", "10"), "");
  EXPECT_EQ(validate_error("train.weight_decay", "0"), "");
}

// A run's config.json with a value of the wrong type names the key, not a raw JSON library message.
TEST(Config, FromJsonNamesAKeyOfTheWrongType) {
  nlohmann::json j = RunConfig().to_json();
  j["model"]["d_token"] = "wide";
  try {
    RunConfig::from_json(j);
    FAIL() << "accepted";
  } catch (const ftmamba::Error& e) {
    EXPECT_EQ(std::string(e.what()), "config 'model.d_token': expected an integer, got \"wide\"");
  }
}

TEST(Config, AFifoAsTheConfigFileIsRefused) {
  auto p = fs::temp_directory_path() / ("ftmamba_cfg_" + std::to_string(::getpid()) + "_fifo.toml");
  fs::remove(p);
  ASSERT_EQ(::mkfifo(p.c_str(), 0600), 0);
  RunConfig c;
  try {
    c.load_toml(p);
    ADD_FAILURE() << "a FIFO was read";
  } catch (const ftmamba::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("is a FIFO, not a regular file"), std::string::npos) << e.what();
  }
  fs::remove(p);
}

// A run's config.json with a value of the wrong JSON type: an Error naming the key. The fuzz target
// (tests/fuzz/fuzz_run_config.cpp) found 1e300 as an integer reaching a float-to-integer cast out of range.
TEST(Config, FromJsonRejectsValuesOfTheWrongType) {
  for (const char* text :
       {R"({"train": {"epochs": 1e300}})", R"({"train": {"epochs": 2.5}})", R"({"train": {"lr": "fast"}})",
        R"({"train": {"logq": 1}})", R"({"model": {"d_token": null}})"}) {
    const auto j = nlohmann::json::parse(text);
    try {
      RunConfig::from_json(j);
      ADD_FAILURE() << text << ": accepted";
    } catch (const ftmamba::Error& e) {
      const std::string what = e.what();
      EXPECT_TRUE(what.find("train.") != std::string::npos || what.find("model.") != std::string::npos)
          << text << ": " << what;
    }
  }
  EXPECT_EQ(RunConfig::from_json(nlohmann::json::parse(R"({"train": {"lr": 1}})")).train.lr, 1.0);
}
