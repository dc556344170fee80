// defines: DecodedStream, the text of tokens as they are generated, for printing as they come: each push returns
// the text the new token completes. A byte-level BPE token may end inside a character (one byte of an emoji, say),
// so text is held back while it ends in an incomplete UTF-8 sequence, and nothing printed is ever taken back.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ftmamba/lm/tokenizer.h"

namespace ftmamba::lm {

class DecodedStream {
 public:
  explicit DecodedStream(const Tokenizer& tokenizer, bool skip_special_tokens = true)
      : tokenizer_(tokenizer), skip_special_(skip_special_tokens) {}
  // The new text after `id` (often empty while a character is incomplete).
  std::string push(int64_t id);
  // The rest at the end of the generation (an incomplete character as U+FFFD).
  std::string finish();
  const std::vector<int64_t>& ids() const { return ids_; }

 private:
  const Tokenizer& tokenizer_;
  bool skip_special_;
  std::vector<int64_t> ids_;
  size_t printed_ = 0;  // bytes of decode(ids_) already returned
};

}  // namespace ftmamba::lm
