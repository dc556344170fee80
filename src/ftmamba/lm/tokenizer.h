// defines: Tokenizer, a byte-level BPE read from a Hugging Face tokenizer.json (the GPT-NeoX tokenizer of the
// Mamba checkpoints, and any tokenizer of the same pipeline), giving the ids Hugging Face `tokenizers` gives:
//   added tokens split out (leftmost-longest; lstrip, rstrip, single_word; the "normalized" ones after the
//   normalizer) -> normalizer (NFC, NFD, NFKC, NFKD, Lowercase, Sequence) -> pre-tokenizer (ByteLevel with its
//   GPT-2 pattern and add_prefix_space; Split on a pattern; a Sequence of them) -> BPE merges -> post-processor
//   (ByteLevel; TemplateProcessing's special tokens around the text).
// decode maps the tokens back through the byte-level alphabet and replaces invalid UTF-8 by U+FFFD, as
// tokenizers' ByteLevel decoder; an id the tokenizer lacks decodes to nothing, as there. Another pipeline (WordPiece,
// Unigram, a Metaspace pre-tokenizer) is refused at load with the key at fault. docs/LANGUAGE_MODELS.md says what is
// read.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ftmamba::lm {

// The tokenizer's file in a model folder.
inline constexpr const char* kTokenizerFile = "tokenizer.json";

class Tokenizer {
 public:
  // Reads tokenizer.json. Throws Error "PATH: key 'model.merges[12]': ..." for a malformed or unsupported file.
  static Tokenizer load(const std::filesystem::path& tokenizer_json);
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  // The ids of `text` (UTF-8; Error naming the byte offset where it is not). add_special_tokens: the
  // post-processor's (a TemplateProcessing's BOS, say), as tokenizers' encode(text, add_special_tokens=True).
  std::vector<int64_t> encode(std::string_view text, bool add_special_tokens = true) const;
  // The text of `ids` (Error naming an id outside the vocabulary). skip_special_tokens leaves out the special
  // added tokens (<|endoftext|>, say).
  std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens = false) const;

  // One past the largest id of the vocabulary and the added tokens.
  int64_t vocab_size() const;
  // The id of a token of the vocabulary or an added token, as spelled in tokenizer.json.
  std::optional<int64_t> token_id(std::string_view token) const;
  bool is_special(int64_t id) const;

 private:
  Tokenizer();
  struct Pipeline;
  std::unique_ptr<Pipeline> p_;
};

}  // namespace ftmamba::lm
