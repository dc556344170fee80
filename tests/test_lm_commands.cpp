// `ftmamba lm generate`, `lm tokenize` and `lm score --text` on a model folder the test writes (a random model in
// transformers' layout, save_hf_mamba, and a byte-level tokenizer.json): the streamed text is the decoded ids, the
// ids are lm::generate's in-process, a batch from --prompts gives each prompt what it gets alone, the model's
// eos_token_id stops a generation, and bad requests fail with their message.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "binary_runner.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/lm/byte_level.h"
#include "ftmamba/lm/generate.h"
#include "ftmamba/lm/pretrained.h"
#include "ftmamba/lm/score.h"
#include "scratch_dir.h"
#include "tiny_lm_folder.h"

namespace fs = std::filesystem;
namespace lm = ftmamba::lm;
using ftmamba_test::run_binary;
using nlohmann::json;

namespace {

class LmCommands : public ftmamba_test::ScratchDirTest {
 protected:
  void SetUp() override {
    ScratchDirTest::SetUp();
    write_model(dir_ / "model", -1);
  }
  void write_model(const fs::path& dir, int64_t eos) { ftmamba_test::write_tiny_lm_folder(dir, eos); }
  std::string model() const { return (dir_ / "model").string(); }
  std::vector<int64_t> in_process(const std::string& prompt, const lm::SamplingOptions& o) const {
    auto p = lm::PretrainedLM::load(dir_ / "model", torch::kCPU);
    return lm::generate(*p.model, {p.require_tokenizer().encode(prompt)}, o)[0];
  }
  static std::string read(const fs::path& p) { return ftmamba::io::read_file(p); }
  // Runs ftmamba with `args`, stdout and stderr to files of their own: (exit code, stdout, stderr).
  struct Run {
    int code;
    std::string out, err;
  };
  Run run(const std::string& args) const {
    const auto out = dir_ / "stdout", err = dir_ / "stderr";
    const int status =
        std::system((std::string(FTMAMBA_BINARY) + " " + args + " >" + out.string() + " 2>" + err.string()).c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read(out), read(err)};
  }
};

}  // namespace

TEST_F(LmCommands, GenerateStreamsTheDecodedIdsOfTheInProcessGeneration) {
  lm::SamplingOptions o;
  o.max_new_tokens = 24;
  const auto ids = in_process("hello world", o);
  const auto tokenizer = lm::Tokenizer::load(dir_ / "model" / "tokenizer.json");
  const auto r = run("lm generate --model " + model() + " --prompt 'hello world' --max-new-tokens 24");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, tokenizer.decode(ids, true) + "\n");
  EXPECT_NE(r.err.find("lm generate: 5 prompt tokens prefilled"), std::string::npos) << r.err;  // hello, Ġw, or, l, d
  // --json: the ids themselves.
  const auto j = run("lm generate --model " + model() + " --prompt 'hello world' --max-new-tokens 24 --json");
  ASSERT_EQ(j.code, 0) << j.err;
  const auto line = json::parse(j.out);
  EXPECT_EQ(line.at("ids").get<std::vector<int64_t>>(), ids);
  EXPECT_EQ(line.at("prompt_ids").get<std::vector<int64_t>>(), tokenizer.encode("hello world"));
}

TEST_F(LmCommands, ABatchOfPromptsGivesEachWhatItGetsAlone) {
  std::ofstream(dir_ / "prompts.jsonl") << "{\"prompt\": \"hello\"}\n\n{\"prompt\": \"a longer prompt, world\"}\n";
  const auto r = run("lm generate --model " + model() + " --prompts " + (dir_ / "prompts.jsonl").string() +
                     " --max-new-tokens 10 --temperature 0.9 --top-k 20 --seed 4");
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream lines(r.out);
  std::vector<json> rows;
  for (std::string line; std::getline(lines, line);) rows.push_back(json::parse(line));
  ASSERT_EQ(rows.size(), 2u);
  lm::SamplingOptions greedy;
  greedy.max_new_tokens = 10;
  // Sampled in one batch: a token per row per step from one random stream, so each row is compared with itself
  // run again, and greedy rows with their lone runs.
  const auto again = run("lm generate --model " + model() + " --prompts " + (dir_ / "prompts.jsonl").string() +
                         " --max-new-tokens 10 --temperature 0.9 --top-k 20 --seed 4");
  std::istringstream again_lines(again.out);
  for (const auto& row : rows) {
    std::string line;
    std::getline(again_lines, line);
    EXPECT_EQ(json::parse(line).at("ids"), row.at("ids"));  // the same seed, the same tokens
  }
  EXPECT_EQ(rows[1].at("prompt"), "a longer prompt, world");
  const auto g = run("lm generate --model " + model() + " --prompts " + (dir_ / "prompts.jsonl").string() +
                     " --max-new-tokens 10");
  ASSERT_EQ(g.code, 0) << g.err;
  std::istringstream greedy_lines(g.out);
  std::string first, second;
  std::getline(greedy_lines, first);
  std::getline(greedy_lines, second);
  EXPECT_EQ(json::parse(first).at("ids").get<std::vector<int64_t>>(), in_process("hello", greedy));
  EXPECT_EQ(json::parse(second).at("ids").get<std::vector<int64_t>>(), in_process("a longer prompt, world", greedy));
}

TEST_F(LmCommands, TheModelsEosTokenEndsTheGeneration) {
  lm::SamplingOptions o;
  o.max_new_tokens = 12;
  const auto free = in_process("hello", o);
  const int64_t eos = free[2];
  write_model(dir_ / "model", eos);
  const auto r = run("lm generate --model " + model() + " --prompt hello --max-new-tokens 12 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto ids = json::parse(r.out).at("ids").get<std::vector<int64_t>>();
  const auto at = std::find(free.begin(), free.end(), eos);
  EXPECT_EQ(ids, std::vector<int64_t>(free.begin(), at + 1));
  const auto all =
      run("lm generate --model " + model() + " --prompt hello --max-new-tokens 12 --json " + "--ignore-eos");
  EXPECT_EQ(json::parse(all.out).at("ids").get<std::vector<int64_t>>(), free);
}

TEST_F(LmCommands, TokenizeAndScoreText) {
  const auto tokenizer = lm::Tokenizer::load(dir_ / "model" / "tokenizer.json");
  const auto t = run_binary("lm tokenize --model " + model() + " --text 'hello world' --json");
  ASSERT_EQ(t.code, 0) << t.out;
  EXPECT_EQ(json::parse(t.out).at("ids").get<std::vector<int64_t>>(), tokenizer.encode("hello world"));
  const auto d = run_binary("lm tokenize --model " + model() + " --ids 259,260,261,108,100");
  EXPECT_EQ(d.out, "hello world\n");
  const auto by_text = run_binary("lm score --model " + model() + " --text 'hello world' --json");
  auto p = lm::PretrainedLM::load(dir_ / "model", torch::kCPU);
  const auto want = lm::score_tokens(*p.model, tokenizer.encode("hello world"));
  ASSERT_EQ(by_text.code, 0) << by_text.out;
  EXPECT_NEAR(json::parse(by_text.out).at("total").get<double>(), want.total(), 1e-4);
}

TEST_F(LmCommands, BadRequestsFailWithTheirMessage) {
  auto r = run_binary("lm generate --model " + model());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("lm generate: give --prompt, --prompts or --ids"), std::string::npos) << r.out;
  r = run_binary("lm generate --model " + model() + " --prompt hi --top-p 0");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("--top-p must lie in (0, 1]"), std::string::npos) << r.out;
  r = run_binary("lm generate --model " + model() + " --ids 1,264");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("prompt 1: token id 264 is outside the model's vocabulary [0, 264)"), std::string::npos)
      << r.out;
  fs::remove(dir_ / "model" / "tokenizer.json");
  r = run_binary("lm generate --model " + model() + " --prompt hi");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("tokenizer.json: not found; text needs the model's tokenizer"), std::string::npos) << r.out;
  std::ofstream(dir_ / "bad.jsonl") << "{\"prompt\": 3}\n";
  r = run_binary("lm generate --model " + model() + " --prompts " + (dir_ / "bad.jsonl").string());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("bad.jsonl:1: key 'prompt'"), std::string::npos) << r.out;
}
