// Parity with Hugging Face tokenizers: for each tokenizer of tests/fixtures/hf_tokenizer (trained and saved by
// `tokenizers` itself: scripts/hf_tokenizer_fixture.py), every case's ids equal the ids tokenizers gave, and the
// ids decode to the text tokenizers decoded them to. The corpus: the project's docs line by line and whole
// paragraphs, unicode, emoji, combining marks, runs of whitespace, code, numbers and special tokens.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "ftmamba/lm/tokenizer.h"

namespace fs = std::filesystem;

namespace {

const fs::path kFixtures = fs::path(FTMAMBA_SOURCE_DIR) / "tests" / "fixtures" / "hf_tokenizer";

void expect_parity(const std::string& variant) {
  const auto tok = ftmamba::lm::Tokenizer::load(kFixtures / variant / "tokenizer.json");
  std::ifstream in(kFixtures / variant / "cases.jsonl");
  std::string line;
  int64_t cases = 0, same = 0;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    const auto text = j.at("text").get<std::string>();
    const auto want = j.at("ids").get<std::vector<int64_t>>();
    const auto got = tok.encode(text);
    ++cases;
    same += got == want ? 1 : 0;
    EXPECT_EQ(got, want) << variant << ": " << text;
    EXPECT_EQ(tok.decode(want), j.at("decoded").get<std::string>()) << variant << ": " << text;
  }
  EXPECT_GT(cases, 100) << variant;
  EXPECT_EQ(same, cases) << variant;
}

}  // namespace

TEST(HfTokenizerParity, NeoxPipeline) { expect_parity("neox"); }
TEST(HfTokenizerParity, PrefixSpaceAndTemplate) { expect_parity("prefix"); }
