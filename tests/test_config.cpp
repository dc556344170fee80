// Tests RunConfig: TOML loading, --set overrides, unknown keys as errors, and the JSON/TOML round trips.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "ftmamba/core/error.h"
#include "ftmamba/train/config.h"

namespace fs = std::filesystem;
using ftmamba::train::RunConfig;

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
  EXPECT_EQ(c.train.loss, "bce");
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
    EXPECT_NE(std::string(e.what()).find("train.learning_rate"), std::string::npos) << e.what();
  }
  EXPECT_THROW(c.load_toml(write_temp("c.toml", "[train]\nepochs = \"many\"\n")), ftmamba::DataError);
  EXPECT_THROW(c.set("train.epoch", "3"), ftmamba::Error);
  EXPECT_THROW(c.set("train.epochs", "3.5"), ftmamba::Error);
  EXPECT_THROW(c.set_assignment("train.epochs"), ftmamba::Error);
  c.set("train.loss", "hinge");
  EXPECT_THROW(c.validate(), ftmamba::Error);
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
