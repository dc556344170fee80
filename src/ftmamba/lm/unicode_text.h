// defines: the Unicode pieces a tokenizer needs around its BPE: UTF-8 validation and lossy decoding (as Rust's
// String::from_utf8_lossy, which Hugging Face tokenizers' decode ends with), the White_Space property, and
// TextNormalizer, the normalizers of a tokenizer.json (NFC, NFD, NFKC, NFKD, Lowercase, a Sequence of them) on ICU.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ftmamba::lm {

// The byte offset of the first byte that does not start a valid UTF-8 sequence; npos when all of `text` is valid.
size_t invalid_utf8_at(std::string_view text);

// `bytes` as UTF-8, each maximal invalid subsequence replaced by U+FFFD.
std::string utf8_lossy(std::string_view bytes);

// The code point starting at text[at] (valid UTF-8) and its length in bytes.
char32_t code_point_at(std::string_view text, size_t at, size_t* length);

// Unicode's White_Space property (Rust's char::is_whitespace).
bool is_white_space(char32_t c);

class TextNormalizer {
 public:
  enum class Step { kNfc, kNfd, kNfkc, kNfkd, kLowercase };
  TextNormalizer() = default;  // no steps: the text as it is
  explicit TextNormalizer(std::vector<Step> steps) : steps_(std::move(steps)) {}

  bool empty() const { return steps_.empty(); }
  // The text after every step in order (valid UTF-8 in, valid UTF-8 out).
  std::string apply(std::string_view text) const;

 private:
  std::vector<Step> steps_;
};

}  // namespace ftmamba::lm
