// The byte-level BPE tokenizer (lm/tokenizer.h) on tokenizer.json files written by the tests: merges applied by
// rank then position, the byte-level alphabet, the GPT-2 pre-tokenizer, added tokens (special, lstrip, normalized),
// NFC, a TemplateProcessing BOS, decode (invalid UTF-8 becomes U+FFFD), and errors naming the key. HfFixtures
// checks every case of tests/fixtures/hf_tokenizer against the ids and text Hugging Face tokenizers gave.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "error_message.h"
#include "ftmamba/lm/byte_level.h"
#include "ftmamba/lm/tokenizer.h"
#include "ftmamba/lm/unicode_text.h"
#include "scratch_dir.h"

namespace lm = ftmamba::lm;
using ftmamba_test::error_message;
using nlohmann::json;

namespace {

std::string spelled(const std::string& bytes) {
  std::string out;
  lm::append_byte_level(bytes, out);
  return out;
}

// A tokenizer.json: the 256 byte-level characters (ids 0..255, byte order), then one id per merge, in order.
json tiny_tokenizer(const std::vector<std::pair<std::string, std::string>>& merges) {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[spelled(std::string(1, static_cast<char>(b)))] = b;
  json merge_list = json::array();
  int64_t next = 256;
  for (const auto& [a, b] : merges) {
    const std::string l = spelled(a), r = spelled(b);
    if (!vocab.contains(l + r)) vocab[l + r] = next++;
    merge_list.push_back(l + " " + r);
  }
  return {{"version", "1.0"},
          {"added_tokens", json::array()},
          {"normalizer", nullptr},
          {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
          {"post_processor", {{"type", "ByteLevel"}}},
          {"decoder", {{"type", "ByteLevel"}}},
          {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merge_list}}}};
}

class BpeTokenizer : public ftmamba_test::ScratchDirTest {
 protected:
  lm::Tokenizer load(const json& j) { return lm::Tokenizer::load(write("tokenizer.json", j.dump())); }
};

int64_t byte_id(char c) { return static_cast<unsigned char>(c); }

}  // namespace

TEST_F(BpeTokenizer, MergesGoByRankThenLeftmost) {
  // he (256), ll (257), hell (258), hello (259), Ġh (260), aa (261)
  const auto tok = load(tiny_tokenizer({{"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {" ", "h"}, {"a", "a"}}));
  EXPECT_EQ(tok.encode("hello"), (std::vector<int64_t>{259}));
  // " hello": (h, e) outranks (Ġ, h), and no merge joins Ġ with "he".
  EXPECT_EQ(tok.encode(" hello"), (std::vector<int64_t>{byte_id(' '), 259}));
  // Three a: the leftmost pair merges first.
  EXPECT_EQ(tok.encode("aaa"), (std::vector<int64_t>{261, byte_id('a')}));
  // The pre-tokenizer splits "hello,hello" at the comma; a space run keeps its last space for the next word.
  EXPECT_EQ(tok.encode("hello,hello"), (std::vector<int64_t>{259, byte_id(','), 259}));
  EXPECT_EQ(tok.encode("a   hello"),
            (std::vector<int64_t>{byte_id('a'), byte_id(' '), byte_id(' '), byte_id(' '), 259}));
  // Contractions are pieces of their own.
  EXPECT_EQ(tok.encode("he's"), (std::vector<int64_t>{256, byte_id('\''), byte_id('s')}));
  EXPECT_EQ(tok.vocab_size(), 262);
  EXPECT_EQ(tok.token_id(spelled(" h")), 260);
}

TEST_F(BpeTokenizer, EveryByteRoundTripsAndBadUtf8DecodesToTheReplacementCharacter) {
  const auto tok = load(tiny_tokenizer({{"h", "e"}}));
  for (const std::string text :
       {"héllo wörld", "emoji 😀👍🏽 and 日本語", "tabs\t\tand\nlines\r\n", "   ", "x"})
    EXPECT_EQ(tok.decode(tok.encode(text)), text);
  EXPECT_EQ(tok.encode("é"), (std::vector<int64_t>{0xC3, 0xA9}));
  EXPECT_EQ(tok.decode({0xC3}), "\xEF\xBF\xBD");  // a lead byte alone
  EXPECT_EQ(tok.decode({0xE6, 0x97, byte_id('a')}),
            "\xEF\xBF\xBD"
            "a");  // a cut sequence is one U+FFFD
  EXPECT_EQ(tok.decode({0xFF, 0xFE}), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(error_message([&] { tok.encode("bad \xC3("); }),
            "the text is not UTF-8: an invalid byte sequence at byte 4");
  // Ids beyond the vocabulary (a padded embedding's rows) decode to nothing, as in tokenizers.
  EXPECT_EQ(tok.decode({byte_id('a'), 5000, -1, byte_id('b')}), "ab");
}

TEST_F(BpeTokenizer, AddedTokensAreSplitOutBeforeTheModel) {
  json j = tiny_tokenizer({{"h", "e"}});
  j["added_tokens"] = json::array({
      {{"id", 300}, {"content", "<|endoftext|>"}, {"special", true}, {"normalized", false}},
      {{"id", 301}, {"content", "<think>"}, {"special", false}, {"normalized", false}, {"lstrip", true}},
      {{"id", 302}, {"content", "  "}, {"special", false}, {"normalized", true}},
      {{"id", 303}, {"content", "<|end"}, {"special", false}, {"normalized", false}},
  });
  const auto tok = load(j);
  // The longest token at the leftmost position wins over its prefix <|end.
  EXPECT_EQ(tok.encode("he<|endoftext|>he"), (std::vector<int64_t>{256, 300, 256}));
  EXPECT_EQ(tok.encode("<|end"), (std::vector<int64_t>{303}));
  // lstrip takes the whitespace on its left.
  EXPECT_EQ(tok.encode("a \t<think>"), (std::vector<int64_t>{byte_id('a'), 301}));
  // A run of two spaces is the added token; the word after it then has no leading space.
  EXPECT_EQ(tok.encode("a  he"), (std::vector<int64_t>{byte_id('a'), 302, 256}));
  EXPECT_EQ(tok.decode({256, 300, 302, 256}), "he<|endoftext|>  he");
  EXPECT_EQ(tok.decode({256, 300, 256}, /*skip_special_tokens=*/true), "hehe");
  EXPECT_TRUE(tok.is_special(300));
  EXPECT_FALSE(tok.is_special(301));
  EXPECT_EQ(tok.vocab_size(), 304);
}

TEST_F(BpeTokenizer, NfcComposesAndPrefixSpaceAndTemplateAddTheirParts) {
  json j = tiny_tokenizer({});
  j["normalizer"] = {{"type", "NFC"}};
  j["pre_tokenizer"] = {{"type", "Sequence"},
                        {"pretokenizers", json::array({{{"type", "ByteLevel"}, {"add_prefix_space", true}}})}};
  j["added_tokens"] = json::array({{{"id", 256}, {"content", "<s>"}, {"special", true}, {"normalized", false}}});
  j["post_processor"] = {{"type", "TemplateProcessing"},
                         {"single", json::array({{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                                                 {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
                         {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {256}}, {"tokens", {"<s>"}}}}}}};
  const auto tok = load(j);
  // e + combining acute -> é (C3 A9); a prefix space; the BOS first.
  EXPECT_EQ(tok.encode("e\xCC\x81"), (std::vector<int64_t>{256, byte_id(' '), 0xC3, 0xA9}));
  EXPECT_EQ(tok.encode("e\xCC\x81", /*add_special_tokens=*/false), (std::vector<int64_t>{byte_id(' '), 0xC3, 0xA9}));
  lm::TextNormalizer nfkc({lm::TextNormalizer::Step::kNfkc, lm::TextNormalizer::Step::kLowercase});
  EXPECT_EQ(nfkc.apply("\xEF\xBC\xA1"
                       "BC"),
            "abc");  // fullwidth A
}

TEST_F(BpeTokenizer, AFileItCannotReadIsAnErrorNamingTheKey) {
  const std::string at = (dir_ / "tokenizer.json").string() + ": key ";
  const auto message = [&](const json& j) { return error_message([&] { load(j); }); };
  json j = tiny_tokenizer({{"h", "e"}});
  j["model"]["merges"].push_back("x");
  EXPECT_EQ(message(j), at + "'model.merges[1]': 'x' is not two tokens separated by one space");
  j = tiny_tokenizer({{"h", "e"}});
  j["model"]["merges"].push_back("Ā zz");
  EXPECT_EQ(message(j), at + "'model.merges': merge 1 ('Ā' 'zz'): a token is not in the vocabulary");
  j = tiny_tokenizer({});
  j["model"]["type"] = "WordPiece";
  EXPECT_EQ(message(j), at + "'model.type': 'WordPiece' is not supported (ftmamba reads BPE tokenizers)");
  j = tiny_tokenizer({});
  j["pre_tokenizer"] = {{"type", "Metaspace"}};
  EXPECT_EQ(message(j), at + "'pre_tokenizer.type': 'Metaspace' is not supported (ByteLevel, Split, Sequence are)");
  j = tiny_tokenizer({});
  j["model"]["vocab"]["x"] = -3;
  EXPECT_EQ(message(j), at + "'model.vocab.x': a token id (an integer from 0 to 2^30) is expected");
  j = tiny_tokenizer({});
  j["added_tokens"] = json::array({{{"content", "<s>"}}});
  EXPECT_EQ(message(j), at + "'added_tokens[0].id': missing");
  j = tiny_tokenizer({});
  j["normalizer"] = {{"type", "Precompiled"}};
  EXPECT_EQ(message(j),
            at + "'normalizer.type': 'Precompiled' is not supported (NFC, NFD, NFKC, NFKD, Lowercase, Sequence are)");
  j = tiny_tokenizer({});
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}};
  EXPECT_NE(message(j).find(at + "'pre_tokenizer.pattern': the regular expression '(unclosed' does not compile: "),
            std::string::npos);
}
