// defines: RegexSplitter, the split of text at the matches of a regular expression, each match a piece and each
// gap between matches a piece (Hugging Face tokenizers' "Isolated" behaviour). It runs Oniguruma, the engine
// `tokenizers` itself uses, so that a pattern with \p{L}, \s or a look-ahead matches exactly as it does there.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ftmamba::lm {

class RegexSplitter {
 public:
  // Compiles `pattern` (Oniguruma's default syntax, UTF-8). Error with Oniguruma's message when it does not compile.
  explicit RegexSplitter(const std::string& pattern);
  ~RegexSplitter();
  RegexSplitter(RegexSplitter&&) noexcept;
  RegexSplitter& operator=(RegexSplitter&&) noexcept;

  // Appends the non-empty pieces of `text` (valid UTF-8) to `pieces`, in order; they cover the text. Safe to call
  // from several threads at once.
  void split(std::string_view text, std::vector<std::string_view>& pieces) const;

 private:
  struct Compiled;
  std::unique_ptr<Compiled> compiled_;
};

// The pre-tokenizer pattern of GPT-2's byte-level BPE (GPT-NeoX's, the Mamba checkpoints'): contractions, letters,
// numbers, other symbols, each with an optional leading space, and whitespace not followed by a non-space.
inline constexpr const char* kGpt2SplitPattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

}  // namespace ftmamba::lm
