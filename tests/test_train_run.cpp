// Tests the library calls behind `train`, `eval`, `finetune` and `merge` (experiments/train_run.h,
// eval/evaluate_run.h, experiments/finetune_run.h, run/merge_lora.h): what they report is what they write,
// nothing is written when they fail, a dry run writes nothing, eval reproduces the stored test metrics, a LoRA
// run writes PEFT's adapter config and merges into a standalone folder; and the epoch line's format.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "error_message.h"
#include "ftmamba/core/error.h"
#include "ftmamba/data/dataset.h"
#include "ftmamba/eval/evaluate_run.h"
#include "ftmamba/experiments/finetune_run.h"
#include "ftmamba/experiments/train_run.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/run/merge_lora.h"
#include "generated_data_suite.h"

namespace fs = std::filesystem;
namespace ex = ftmamba::experiments;
namespace run = ftmamba::run;

using ftmamba_test::error_message;

namespace {

nlohmann::json read_json(const fs::path& f) { return nlohmann::json::parse(ftmamba::io::read_file(f)); }

class TrainRun : public ftmamba_test::GeneratedDataSuite<4000, 3> {
 protected:
  static inline ex::TrainOutcome base;
  static inline std::vector<run::EpochRecord> epochs;  // as on_epoch reported them
  static inline int setups = 0;                        // on_setup calls

  // A small model, quickly trained, on the CPU.
  static ex::TrainRequest small_request(const fs::path& out) {
    ex::TrainRequest r;
    r.data_dir = data_dir();
    r.out_dir = out;
    r.config.sets = {"train.epochs=2", "train.batch_size=256", "model.d_token=16", "model.embed_dim=16",
                     "train.valid_users=300"};
    r.device = "cpu";
    r.quiet = true;
    return r;
  }
  static ex::FinetuneRequest lora_request(const fs::path& base_run, const fs::path& data, const fs::path& out) {
    ex::FinetuneRequest r;
    r.base_run = base_run;
    r.data_dir = data;
    r.out_dir = out;
    r.options.lora.rank = 4;
    r.options.lora.alpha = 8;
    r.config.sets = {"train.epochs=1"};
    r.device = "cpu";
    r.quiet = true;
    return r;
  }

  static void SetUpTestSuite() {
    GeneratedDataSuite::SetUpTestSuite();
    auto r = small_request(root() / "base");
    r.on_setup = [](const ex::TrainSetup&) { ++setups; };
    r.on_epoch = [](const run::EpochRecord& e) { epochs.push_back(e); };
    base = ex::train_run(r);
  }
};

}  // namespace

TEST(TrainingProgress, EpochLineFormat) {
  run::EpochRecord e{3, 1.23456, 1e-3, 9.04, 5678.4, 0, {{"HR@10", 0.12344}}, false};
  EXPECT_EQ(ex::format_epoch_line(e), "epoch   3  loss 1.2346  valid HR@10 0.1234  5678 samples/s  9.0s");
  e.skipped_steps = 2;
  e.best = true;
  e.epoch = 12;
  EXPECT_EQ(ex::format_epoch_line(e),
            "epoch  12  loss 1.2346  valid HR@10 0.1234  5678 samples/s  9.0s  (2 fp16 steps skipped)  *");
}

TEST(TrainingProgress, PeftAdapterConfig) {
  run::FinetuneOptions o;
  o.lora = {4, 8.0, 0.1};
  o.train_extra = {"*head*"};
  const auto j = ex::peft_adapter_config(o, {"user_tower.layers.0.mixer.in_proj"}, "/runs/base");
  EXPECT_EQ(j["peft_type"], "LORA");
  EXPECT_EQ(j["base_model_name_or_path"], "/runs/base");
  EXPECT_EQ(j["r"], 4);
  EXPECT_DOUBLE_EQ(j["lora_alpha"].get<double>(), 8.0);
  EXPECT_DOUBLE_EQ(j["lora_dropout"].get<double>(), 0.1);
  EXPECT_EQ(j["target_modules"], nlohmann::json({"user_tower.layers.0.mixer.in_proj"}));
  EXPECT_EQ(j["modules_to_save"], nlohmann::json({"*head*"}));
  EXPECT_EQ(j["bias"], "none");
  EXPECT_EQ(j["fan_in_fan_out"], false);
}

TEST_F(TrainRun, WritesWhatItReturns) {
  ASSERT_TRUE(base.run);
  EXPECT_EQ(setups, 1);
  EXPECT_EQ(base.run->dir, root() / "base");
  for (const char* f : {"config.json", "model.safetensors", "metrics.json", "history.jsonl",
                        "sampled_negatives.safetensors", "inference.safetensors"})
    EXPECT_TRUE(fs::exists(base.run->dir / f)) << f;
  const auto& m = base.run->metrics;
  EXPECT_EQ(run::read_metrics(base.run->dir / "metrics.json").to_json(), m.to_json());
  EXPECT_EQ(m.model_type, "ft-mamba");
  EXPECT_EQ(m.parameters, base.setup.parameters);
  EXPECT_EQ(m.device, "cpu");
  EXPECT_EQ(m.precision, "fp32");
  EXPECT_FALSE(m.finetune);
  EXPECT_GT(m.test_metric("full", "model", "HR@10"), 0.0);
  // history.jsonl holds exactly the epochs on_epoch reported, in order.
  const auto history = run::read_history(base.run->dir / "history.jsonl");
  ASSERT_EQ(history.size(), epochs.size());
  ASSERT_EQ(static_cast<int64_t>(epochs.size()), m.epochs_run);
  for (size_t i = 0; i < epochs.size(); ++i) {
    EXPECT_EQ(epochs[i].epoch, static_cast<int64_t>(i) + 1);
    EXPECT_EQ(history[i].to_json(), epochs[i].to_json());
  }
  // The setup describes the data and model.
  const auto dataset = ftmamba::data::Dataset::load(data_dir());
  const auto& d = base.setup.data;
  EXPECT_EQ(d.users, dataset.users.size());
  EXPECT_EQ(d.items, dataset.items.size());
  EXPECT_EQ(d.interactions, dataset.interactions.size());
  EXPECT_EQ(d.train + d.valid + d.test, d.interactions);
  EXPECT_GT(d.test, 0);
  EXPECT_EQ(base.setup.user_tower_parameters + base.setup.item_tower_parameters, base.setup.parameters);
  EXPECT_EQ(base.setup.device, torch::Device(torch::kCPU));
}

TEST_F(TrainRun, DryRunAndBadConfigWriteNothing) {
  auto dry = small_request(root() / "dry");
  dry.dry_run = true;
  dry.config.model = "ft-transformer";
  dry.config.precision = "bf16";
  int dry_setups = 0, dry_epochs = 0;
  dry.on_setup = [&](const ex::TrainSetup&) { ++dry_setups; };
  dry.on_epoch = [&](const run::EpochRecord&) { ++dry_epochs; };
  const auto outcome = ex::train_run(dry);
  EXPECT_FALSE(outcome.run);
  EXPECT_EQ(dry_setups, 1);
  EXPECT_EQ(dry_epochs, 0);
  EXPECT_EQ(outcome.setup.model_label, "ft-transformer");  // the sources reached the config
  EXPECT_EQ(outcome.setup.precision, ftmamba::ops::Precision::kBf16);
  EXPECT_NE(outcome.setup.parameters, base.setup.parameters);
  EXPECT_FALSE(fs::exists(root() / "dry"));

  auto bad = small_request(root() / "bad");
  bad.config.sets.push_back("train.lr8=1");
  bad.on_setup = [&](const ex::TrainSetup&) { ADD_FAILURE() << "setup reached with a bad config"; };
  EXPECT_NE(error_message([&] { ex::train_run(bad); }).find("train.lr8"), std::string::npos);
  EXPECT_FALSE(fs::exists(root() / "bad"));
}

TEST_F(TrainRun, EvaluateRunReproducesTheStoredTestMetrics) {
  ASSERT_TRUE(base.run);
  const auto cpu = torch::Device(torch::kCPU);
  EXPECT_EQ(ftmamba::eval::evaluate_run(base.run->dir, {}, ftmamba::ops::Precision::kFp32, cpu),
            base.run->metrics.test);
  EXPECT_EQ(ftmamba::eval::evaluate_run(base.run->dir, data_dir(), ftmamba::ops::Precision::kFp32, cpu),
            base.run->metrics.test);
  EXPECT_THROW(ftmamba::eval::evaluate_run(root() / "no-such-run", {}, ftmamba::ops::Precision::kFp32, cpu),
               ftmamba::Error);
}

TEST_F(TrainRun, LoraFinetuneThenMerge) {
  ASSERT_TRUE(base.run);
  // On a copy of the data, so that the merge can be tried again once the data is gone.
  const fs::path data_copy = root() / "data-copy";
  fs::copy(data_dir(), data_copy, fs::copy_options::recursive);
  auto req = lora_request(base.run->dir, data_copy, root() / "lora");
  const auto lora = ex::finetune_run(req);
  const auto& plan = lora.setup.plan;
  ASSERT_FALSE(plan.adapted.empty());
  EXPECT_LT(plan.parameters.trainable, plan.parameters.total);
  const fs::path dir = lora.run.dir;
  EXPECT_EQ(dir, root() / "lora");
  EXPECT_EQ(run::read_metrics(dir / "metrics.json").to_json(), lora.run.metrics.to_json());
  EXPECT_EQ(lora.run.metrics.finetune, "lora");
  EXPECT_EQ(lora.run.metrics.trainable_parameters, plan.parameters.trainable);
  const fs::path abs_base = fs::absolute(base.run->dir).lexically_normal();
  EXPECT_EQ(lora.run.metrics.base_run, abs_base.string());
  EXPECT_FALSE(fs::exists(dir / "model.safetensors"));
  EXPECT_TRUE(fs::exists(dir / "adapters.safetensors"));
  EXPECT_EQ(read_json(dir / "adapter_config.json"), ex::peft_adapter_config(req.options, plan.adapted, abs_base));
  const auto config = read_json(dir / "config.json");
  EXPECT_EQ(config["finetune"]["mode"], "lora");
  EXPECT_EQ(config["finetune"]["adapted"], nlohmann::json(plan.adapted));

  // A LoRA run is no base for another fine-tuning.
  const auto again = lora_request(dir, data_copy, root() / "lora-of-lora");
  EXPECT_NE(error_message([&] { ex::finetune_run(again); }).find("merge it first"), std::string::npos);
  EXPECT_FALSE(fs::exists(root() / "lora-of-lora"));

  const auto merged = run::merge_lora_run(dir, root() / "merged");
  EXPECT_EQ(merged.merged, static_cast<int64_t>(plan.adapted.size()));
  ASSERT_TRUE(merged.max_difference);
  EXPECT_LT(*merged.max_difference, 1e-5);
  EXPECT_TRUE(fs::exists(root() / "merged" / "model.safetensors"));
  EXPECT_FALSE(fs::exists(root() / "merged" / "adapters.safetensors"));
  for (const char* f : {"metrics.json", "history.jsonl", "sampled_negatives.safetensors", "inference.safetensors"})
    EXPECT_EQ(ftmamba::io::read_file(root() / "merged" / f), ftmamba::io::read_file(dir / f)) << f;
  const auto merged_config = read_json(root() / "merged" / "config.json");
  EXPECT_EQ(merged_config["finetune"]["mode"], "lora-merged");
  EXPECT_EQ(merged_config["finetune"]["merged_from"], fs::absolute(dir).lexically_normal().string());

  // Without the dataset the merge still happens, uncompared.
  fs::remove_all(data_copy);
  const auto blind = run::merge_lora_run(dir, root() / "merged-blind");
  EXPECT_EQ(blind.merged, merged.merged);
  EXPECT_FALSE(blind.max_difference);
  EXPECT_EQ(ftmamba::io::read_file(root() / "merged-blind" / "model.safetensors"),
            ftmamba::io::read_file(root() / "merged" / "model.safetensors"));

  // A merged run has no adapters left to merge.
  EXPECT_NE(error_message([&] { run::merge_lora_run(root() / "merged", root() / "merged2"); }).find("not a LoRA run"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(root() / "merged2"));
}

TEST_F(TrainRun, FinetuneKeepsTheBaseModel) {
  ASSERT_TRUE(base.run);
  auto set_model = lora_request(base.run->dir, data_dir(), root() / "changed");
  set_model.config.sets.push_back("model.d_token=8");
  EXPECT_NE(error_message([&] { ex::finetune_run(set_model); }).find("keeps the base run's model"), std::string::npos);
  auto other_type = lora_request(base.run->dir, data_dir(), root() / "changed");
  other_type.config.model = "ft-transformer";
  EXPECT_NE(error_message([&] { ex::finetune_run(other_type); }).find("keeps the base run's model"), std::string::npos);
  EXPECT_FALSE(fs::exists(root() / "changed"));
}
