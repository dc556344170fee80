// Tests for the run folder's typed records: history.jsonl (EpochRecord) and metrics.json (RunMetrics), written
// by their one writer and read back by their one reader, and the reader's errors on a bad file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "error_message.h"
#include "ftmamba/core/error.h"
#include "ftmamba/run/records.h"

namespace fs = std::filesystem;
namespace run = ftmamba::run;

using ftmamba_test::error_message;

namespace {
fs::path temp_dir() {
  const fs::path d = fs::temp_directory_path() / ("ftmamba-records-" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

void write_text(const fs::path& file, const std::string& text) { std::ofstream(file) << text; }

}  // namespace

TEST(Records, HistoryRoundTripsEveryField) {
  std::vector<run::EpochRecord> epochs(2);
  epochs[0] = {1, 0.75, 1e-3, 2.5, 4000.0, 0, {{"HR@10", 0.25}, {"MRR@10", 0.125}}, true};
  epochs[1] = {2, 0.5, 5e-4, 2.0, 5000.0, 3, {{"HR@10", 0.2}}, false};
  const fs::path file = temp_dir() / "history.jsonl";
  run::write_history(file, epochs);
  const auto back = run::read_history(file);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].epoch, 2);
  EXPECT_DOUBLE_EQ(back[0].loss, 0.75);
  EXPECT_DOUBLE_EQ(back[1].lr, 5e-4);
  EXPECT_DOUBLE_EQ(back[0].seconds, 2.5);
  EXPECT_DOUBLE_EQ(back[1].samples_per_sec, 5000.0);
  EXPECT_EQ(back[1].skipped_steps, 3);
  EXPECT_DOUBLE_EQ(back[0].valid_hr10(), 0.25);
  EXPECT_DOUBLE_EQ(back[0].valid["MRR@10"].get<double>(), 0.125);
  EXPECT_TRUE(back[0].best);
  EXPECT_FALSE(back[1].best);
}

TEST(Records, MetricsRoundTripKeepsTheOptionalFieldsOptional) {
  run::RunMetrics m;
  m.model_type = "ft-mamba";
  m.parameters = 1234;
  m.best_epoch = 3;
  m.best_valid_hr10 = 0.3;
  m.epochs_run = 5;
  m.stopped_early = true;
  m.train_seconds = 12.5;
  m.train_samples_per_sec = 999.0;
  m.device = "cpu";
  m.precision = "bf16";
  m.test = {{"full", {{"model", {{"HR@10", 0.4}}}, {"oracle", {{"HR@10", 0.9}}}}},
            {"sampled", {{"model", {{"HR@10", 0.7}}}}}};
  const fs::path file = temp_dir() / "metrics.json";
  run::write_metrics(file, m);
  auto back = run::read_metrics(file);
  EXPECT_EQ(back.model_type, "ft-mamba");
  EXPECT_EQ(back.parameters, 1234);
  EXPECT_EQ(back.best_epoch, 3);
  EXPECT_EQ(back.epochs_run, 5);
  EXPECT_TRUE(back.stopped_early);
  EXPECT_DOUBLE_EQ(back.train_samples_per_sec, 999.0);
  EXPECT_EQ(back.precision, "bf16");
  EXPECT_FALSE(back.peak_gpu_allocated_mib.has_value());
  EXPECT_FALSE(back.finetune.has_value());
  EXPECT_DOUBLE_EQ(back.test_metric("full", "oracle", "HR@10"), 0.9);
  EXPECT_DOUBLE_EQ(back.test_metric("sampled", "model", "HR@10"), 0.7);
  EXPECT_NE(error_message([&] { back.test_metric("sampled", "oracle", "HR@10"); }).find("test.sampled.oracle.HR@10"),
            std::string::npos);

  m.finetune = "lora";
  m.trainable_parameters = 56;
  m.base_run = "/runs/base";
  m.peak_gpu_allocated_mib = 12.0;
  run::write_metrics(file, m);
  back = run::read_metrics(file);
  EXPECT_EQ(back.finetune.value_or(""), "lora");
  EXPECT_EQ(back.trainable_parameters.value_or(0), 56);
  EXPECT_EQ(back.base_run.value_or(""), "/runs/base");
  EXPECT_DOUBLE_EQ(back.peak_gpu_allocated_mib.value_or(0.0), 12.0);
}

TEST(Records, ReadersNameTheFileAndLineOfABadRecord) {
  const fs::path dir = temp_dir();
  write_text(dir / "bad-history.jsonl",
             "{\"epoch\":1,\"loss\":1,\"lr\":1,\"seconds\":1,\"samples_per_sec\":1,\"valid\":{},\"best\":true}\n"
             "{\"epoch\":2,\"loss\":1}\n");
  const std::string h = error_message([&] { run::read_history(dir / "bad-history.jsonl"); });
  EXPECT_NE(h.find("bad-history.jsonl:2:"), std::string::npos) << h;
  write_text(dir / "bad-metrics.json", "{\"model_type\": \"ft-mamba\"}");
  const std::string m = error_message([&] { run::read_metrics(dir / "bad-metrics.json"); });
  EXPECT_NE(m.find("bad-metrics.json"), std::string::npos) << m;
  EXPECT_NE(error_message([&] { run::read_metrics(dir / "missing.json"); }).find("missing.json: cannot read"),
            std::string::npos);
}
