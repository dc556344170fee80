// End-to-end tests of how the ftmamba binary reports errors: one "ftmamba: error: ..." line for a usage error
// (exit code 2) and for a failure while running (exit code 1), --help still succeeding, and control characters
// from the input (a column name holding ESC) escaped, never written raw to the terminal; the nearest known name
// for a mistyped command or option, the choices in --help, range messages in plain numbers, --threads, and the
// warning when a model ranks below popularity.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "binary_runner.h"

namespace fs = std::filesystem;
using ftmamba_test::run_binary;

namespace {

constexpr int kUsage = 2, kRuntime = 1;

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

class CliErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("ftmamba_cli_errors_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }
  void write(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
  }
  // A dataset of two users and two items, users.csv's header as given.
  fs::path dataset(const std::string& users_header) {
    const fs::path d = dir / "data";
    write(d / "schema.toml",
          "[users]\nid = \"user_id\"\nnumerical = [\"age\"]\ncategorical = []\n"
          "[items]\nid = \"item_id\"\nnumerical = []\ncategorical = [\"genre\"]\n"
          "[interactions]\nuser = \"user_id\"\nitem = \"item_id\"\n");
    write(d / "users.csv", users_header + "\nU1,30\nU2,40\n");
    write(d / "items.csv", "item_id,genre\nI1,pop\nI2,rock\n");
    write(d / "interactions.csv", "user_id,item_id\nU1,I1\nU2,I2\nU1,I2\n");
    return d;
  }
  fs::path dir;
};

}  // namespace

TEST_F(CliErrors, UnknownOptionIsAUsageError) {
  const auto r = run_binary("train --data d --out o --no-such-option 1");
  EXPECT_EQ(r.code, kUsage) << r.out;
  EXPECT_TRUE(starts_with(r.out, "ftmamba: error: ")) << r.out;
  EXPECT_NE(r.out.find("--no-such-option"), std::string::npos) << r.out;
}

TEST_F(CliErrors, MissingRequiredOptionAndBadValueAreUsageErrors) {
  const auto missing = run_binary("eval");
  EXPECT_EQ(missing.code, kUsage) << missing.out;
  EXPECT_TRUE(starts_with(missing.out, "ftmamba: error: ")) << missing.out;
  const auto bad = run_binary("recommend --run " + (dir / "r").string() + " --user U1 --k many");
  EXPECT_EQ(bad.code, kUsage) << bad.out;
  EXPECT_TRUE(starts_with(bad.out, "ftmamba: error: ")) << bad.out;
  const auto none = run_binary("");
  EXPECT_EQ(none.code, kUsage) << none.out;
  EXPECT_TRUE(starts_with(none.out, "ftmamba: error: ")) << none.out;
}

TEST_F(CliErrors, HelpAndVersionSucceed) {
  const auto help = run_binary("--help");
  EXPECT_EQ(help.code, 0) << help.out;
  EXPECT_NE(help.out.find("train"), std::string::npos) << help.out;
  EXPECT_EQ(run_binary("train --help").code, 0);
  EXPECT_EQ(run_binary("--version").code, 0);
}

TEST_F(CliErrors, RuntimeErrorExitsWithOne) {
  const auto r = run_binary("eval --run " + (dir / "no-such-run").string());
  EXPECT_EQ(r.code, kRuntime) << r.out;
  EXPECT_TRUE(starts_with(r.out, "ftmamba: error: ")) << r.out;
  EXPECT_NE(r.out.find("no-such-run"), std::string::npos) << r.out;
}

TEST_F(CliErrors, ControlCharactersOfAColumnNameAreEscaped) {
  const fs::path data = dataset("user_id,\x1b[31mage\r");
  const auto r = run_binary("train --quiet --data " + data.string() + " --out " + (dir / "run").string());
  EXPECT_EQ(r.code, kRuntime) << r.out;
  EXPECT_TRUE(starts_with(r.out, "ftmamba: error: ")) << r.out;
  EXPECT_NE(r.out.find("\\x1b[31mage"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\r'), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir / "run"));
}

TEST_F(CliErrors, ControlCharactersOfAnArgumentAreEscaped) {
  const auto r = run_binary("eval --run '" + (dir / "x\x1b]0;title\x07").string() + "'");
  EXPECT_EQ(r.code, kRuntime) << r.out;
  EXPECT_NE(r.out.find("x\\x1b]0;title\\x07"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\x07'), std::string::npos) << r.out;
}

TEST_F(CliErrors, AMistypedCommandGetsTheNearestOne) {
  const auto r = run_binary("traing --data d --out o");
  EXPECT_EQ(r.code, kUsage) << r.out;
  EXPECT_EQ(r.out, "ftmamba: error: unknown command 'traing'; did you mean 'train'?\n");
  const auto nested = run_binary("bench scalng");
  EXPECT_EQ(nested.code, kUsage) << nested.out;
  EXPECT_EQ(nested.out, "ftmamba: error: unknown command 'scalng' for 'bench'; did you mean 'bench scaling'?\n");
  // Nothing near: the commands are listed instead.
  const auto far = run_binary("frobnicate");
  EXPECT_EQ(far.code, kUsage) << far.out;
  EXPECT_TRUE(starts_with(far.out, "ftmamba: error: unknown command 'frobnicate'; the commands are generate, train, "))
      << far.out;
}

TEST_F(CliErrors, AMistypedOptionGetsTheNearestOne) {
  const auto quiet = run_binary("train --data d --out o --quite");
  EXPECT_EQ(quiet.code, kUsage) << quiet.out;
  EXPECT_EQ(quiet.out, "ftmamba: error: unknown option '--quite' for 'train'; did you mean '--quiet'?\n");
  // A config key typed as an option: the --set that sets it.
  const auto epochs = run_binary("train --data d --out o --epoch 3");
  EXPECT_EQ(epochs.code, kUsage) << epochs.out;
  EXPECT_EQ(epochs.out,
            "ftmamba: error: unknown option '--epoch' for 'train'; did you mean '--set train.epochs=...'?\n");
  // Found even when a required option is missing too (CLI11 would complain about that first).
  const auto threads = run_binary("eval --thread 2");
  EXPECT_EQ(threads.code, kUsage) << threads.out;
  EXPECT_EQ(threads.out, "ftmamba: error: unknown option '--thread' for 'eval'; did you mean '--threads'?\n");
}

TEST_F(CliErrors, AMissingCommandListsThem) {
  const auto none = run_binary("");
  EXPECT_EQ(none.code, kUsage) << none.out;
  EXPECT_TRUE(starts_with(none.out, "ftmamba: error: missing command: one of generate, train, finetune,")) << none.out;
  EXPECT_NE(none.out.find("(see ftmamba --help)"), std::string::npos) << none.out;
  const auto bench = run_binary("bench");
  EXPECT_EQ(bench.code, kUsage) << bench.out;
  EXPECT_EQ(bench.out,
            "ftmamba: error: missing command for 'bench': one of finetune, scaling (see ftmamba bench --help)\n");
}

TEST_F(CliErrors, HelpListsTheChoicesOfEnumeratedOptions) {
  const auto train = run_binary("train --help");
  ASSERT_EQ(train.code, 0) << train.out;
  for (const char* choices : {"{ft-mamba,ft-transformer,ft-transformer-stock}", "{fp32,bf16,fp16,bf16-pure}",
                              "{auto,cpu,cuda,cuda:N}", "--threads INT in 0..1024"})
    EXPECT_NE(train.out.find(choices), std::string::npos) << choices << "\n" << train.out;
  const auto generate = run_binary("generate --help");
  EXPECT_NE(generate.out.find("--preset {spotify,hm,vaccine}"), std::string::npos) << generate.out;
  const auto encode = run_binary("encode --help");
  EXPECT_NE(encode.out.find("--side {user,item}"), std::string::npos) << encode.out;
  const auto compare = run_binary("compare --help");
  EXPECT_NE(compare.out.find("ft-mamba, ft-transformer, ft-transformer-stock"), std::string::npos) << compare.out;
}

TEST_F(CliErrors, RangesAndChoicesAreStatedInPlainNumbersAndWords) {
  const std::string run = (dir / "r").string();
  const auto k0 = run_binary("recommend --run " + run + " --user U1 --k 0");
  EXPECT_EQ(k0.code, kUsage) << k0.out;
  EXPECT_EQ(k0.out, "ftmamba: error: --k must be between 1 and 100000 (got 0)\n");
  EXPECT_EQ(run_binary("recommend --run " + run + " --user U1 --k many").out,
            "ftmamba: error: --k must be an integer (got 'many')\n");
  const auto pairs = run_binary("generate --out " + (dir / "g").string() + " --pairs 0");
  EXPECT_EQ(pairs.code, kUsage) << pairs.out;
  EXPECT_EQ(pairs.out, "ftmamba: error: --pairs must be at least 1 (got 0)\n");
  const auto preset = run_binary("generate --out " + (dir / "g").string() + " --preset spotfy");
  EXPECT_EQ(preset.code, kUsage) << preset.out;
  EXPECT_EQ(preset.out,
            "ftmamba: error: --preset must be one of spotify, hm, vaccine (got 'spotfy'); did you mean 'spotify'?\n");
  const auto device = run_binary("eval --run " + run + " --device gpu");
  EXPECT_EQ(device.code, kUsage) << device.out;
  EXPECT_EQ(device.out,
            "ftmamba: error: --device must be one of auto, cpu, cuda, cuda:N (got 'gpu'); did you mean 'cuda'?\n");
  const auto model = run_binary("train --data d --out o --model ft-mambo");
  EXPECT_EQ(model.code, kUsage) << model.out;
  EXPECT_EQ(model.out,
            "ftmamba: error: --model must be one of ft-mamba, ft-transformer, ft-transformer-stock (got 'ft-mambo'); "
            "did you mean 'ft-mamba'?\n");
  for (const auto& r : {k0, pairs, device}) EXPECT_EQ(r.out.find("e+"), std::string::npos) << r.out;
}

TEST_F(CliErrors, ThreadsIsCheckedAgainstTheConfigLimit) {
  const auto high = run_binary("train --data d --out o --threads 2000");
  EXPECT_EQ(high.code, kUsage) << high.out;
  EXPECT_EQ(high.out, "ftmamba: error: --threads must be between 0 and 1024 (got 2000)\n");
  const auto negative = run_binary("eval --run r --threads -1");
  EXPECT_EQ(negative.code, kUsage) << negative.out;
  EXPECT_EQ(negative.out, "ftmamba: error: --threads must be between 0 and 1024 (got -1)\n");
  for (const char* command : {"finetune", "recommend", "encode", "compare", "compare-finetune", "analyze stability"})
    EXPECT_NE(run_binary(std::string(command) + " --help").out.find("--threads"), std::string::npos) << command;
}

// A model trained with a learning rate too small to move its weights ranks items at random: below popularity on
// any dataset with a popular head. train and eval say so; --threads reaches the run's config.
TEST_F(CliErrors, AModelBelowPopularityIsCalledOutAndThreadsIsRecorded) {
  const fs::path data = dir / "tiny", run = dir / "random-run";
  const auto g = run_binary("generate --preset spotify --pairs 3000 --seed 3 --out " + data.string());
  ASSERT_EQ(g.code, 0) << g.out;
  const auto t = run_binary("train --quiet --data " + data.string() + " --out " + run.string() +
                            " --threads 2 --set train.lr=1e-9 --set train.epochs=1 --set model.d_token=8"
                            " --set model.embed_dim=8 --set model.n_layers=1 --set train.batch_size=256");
  ASSERT_EQ(t.code, 0) << t.out;
  const std::string warning =
      "ftmamba: warning: the model ranks below the popularity baseline on the full catalog (HR@10 ";
  EXPECT_NE(t.out.find(warning), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("On small data popularity is hard to beat; more data or more epochs"), std::string::npos)
      << t.out;
  std::ifstream config(run / "config.json");
  EXPECT_EQ(nlohmann::json::parse(config)["config"]["train"]["threads"].get<int64_t>(), 2);

  const auto e = run_binary("eval --threads 1 --run " + run.string());
  EXPECT_EQ(e.code, 0) << e.out;
  EXPECT_NE(e.out.find(warning), std::string::npos) << e.out;
  EXPECT_EQ(e.out.find('\r'), std::string::npos) << e.out;
}
