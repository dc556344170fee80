// Tests run/config_sources.h: the order in which a config file, --model, --set, --no-graph and --precision
// apply (a later source wins), errors that name the key or the file, and validation only where promised.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "error_message.h"
#include "ftmamba/core/error.h"
#include "ftmamba/run/config_sources.h"

namespace fs = std::filesystem;
namespace run = ftmamba::run;

using ftmamba_test::error_message;

namespace {

fs::path write_temp(const std::string& name, const std::string& text) {
  const auto p = fs::temp_directory_path() / ("ftmamba_sources_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(p) << text;
  return p;
}

}  // namespace

TEST(ConfigSources, NoSourceGivesTheDefaults) {
  EXPECT_EQ(run::config_from_sources({}).to_json(), run::RunConfig{}.to_json());
}

TEST(ConfigSources, FileThenModelThenSetsThenNoGraphThenPrecision) {
  const auto file = write_temp("order.toml",
                               "[model]\ntype = \"ft-transformer\"\nd_token = 24\n"
                               "[train]\nepochs = 5\nlr = 0.5\nprecision = \"fp16\"\ncuda_graph = true\n");
  run::ConfigSources s;
  s.file = file;
  // Each value below is overridden by a later source; the untouched ones keep the file's value.
  EXPECT_EQ(run::config_from_sources(s).model.type, ftmamba::nn::EncoderType::kFtTransformer);
  s.model = "ft-mamba";  // over the file's model.type
  EXPECT_EQ(run::config_from_sources(s).model.type, ftmamba::nn::EncoderType::kFtMamba);
  s.sets = {"train.epochs=3", "train.epochs=4", "model.d_token=40", "train.precision=bf16-pure",
            "train.cuda_graph=true"};
  s.precision = "bf16";  // over the file's and the assignment's train.precision
  s.no_graph = true;     // over the file's and the assignment's train.cuda_graph
  const auto cfg = run::config_from_sources(s);
  EXPECT_EQ(cfg.model.type, ftmamba::nn::EncoderType::kFtMamba);
  EXPECT_EQ(cfg.model.d_token, 40);
  EXPECT_EQ(cfg.train.epochs, 4);  // assignments in order: the last wins
  EXPECT_DOUBLE_EQ(cfg.train.lr, 0.5);
  EXPECT_EQ(cfg.train.precision, ftmamba::ops::Precision::kBf16);
  EXPECT_FALSE(cfg.train.cuda_graph);

  // An assignment wins over --model.
  s.sets.push_back("model.type=ft-transformer");
  EXPECT_EQ(run::config_from_sources(s).model.type, ftmamba::nn::EncoderType::kFtTransformer);
  fs::remove(file);
}

TEST(ConfigSources, ThreadsComeLastAndAreValidated) {
  run::ConfigSources s;
  s.sets = {"train.threads=3"};
  EXPECT_EQ(run::config_from_sources(s).train.threads, 3);
  s.threads = 0;  // --threads 0 over the assignment: every core
  EXPECT_EQ(run::config_from_sources(s).train.threads, 0);
  s.threads = 2000;
  EXPECT_THROW(run::config_from_sources(s), ftmamba::Error);
}

TEST(ConfigSources, AppliesOntoAnExistingConfig) {
  run::RunConfig cfg;
  cfg.train.epochs = 11;
  cfg.train.lr = 0.25;
  run::ConfigSources s;
  s.sets = {"train.lr=0.125"};
  run::apply_config_sources(cfg, s);
  EXPECT_EQ(cfg.train.epochs, 11);
  EXPECT_DOUBLE_EQ(cfg.train.lr, 0.125);
}

TEST(ConfigSources, ErrorsNameTheKeyOrTheFile) {
  run::ConfigSources bad_set;
  bad_set.sets = {"train.epochs=2", "train.lr8=1"};
  EXPECT_NE(error_message([&] { run::config_from_sources(bad_set); }).find("'train.lr8'"), std::string::npos);

  run::ConfigSources bad_value;
  bad_value.sets = {"train.epochs=many"};
  EXPECT_NE(error_message([&] { run::config_from_sources(bad_value); }).find("'train.epochs'"), std::string::npos);

  run::ConfigSources bad_model;
  bad_model.model = "ft-lstm";
  const auto model_error = error_message([&] { run::config_from_sources(bad_model); });
  EXPECT_NE(model_error.find("'model.type'"), std::string::npos) << model_error;
  EXPECT_NE(model_error.find("ft-lstm"), std::string::npos) << model_error;

  run::ConfigSources bad_precision;
  bad_precision.precision = "fp8";
  EXPECT_NE(error_message([&] { run::config_from_sources(bad_precision); }).find("'train.precision'"),
            std::string::npos);

  run::ConfigSources bad_file;
  bad_file.file = write_temp("bad.toml", "[train]\nlearning_rate = 0.1\n");
  try {
    run::config_from_sources(bad_file);
    FAIL() << "unknown key in the file accepted";
  } catch (const ftmamba::DataError& e) {
    EXPECT_NE(std::string(e.what()).find(bad_file.file.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("train.learning_rate"), std::string::npos) << e.what();
  }
  fs::remove(bad_file.file);
}

TEST(ConfigSources, OnlyConfigFromSourcesValidates) {
  run::ConfigSources s;
  s.sets = {"train.batch_size=1"};  // well-typed, out of range
  run::RunConfig cfg;
  EXPECT_NO_THROW(run::apply_config_sources(cfg, s));
  EXPECT_EQ(cfg.train.batch_size, 1);
  EXPECT_THROW(cfg.validate(), ftmamba::Error);
  EXPECT_THROW(run::config_from_sources(s), ftmamba::Error);
}
