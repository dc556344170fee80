// defines: DecodedStream (see decoded_stream.h).
#include "ftmamba/lm/decoded_stream.h"

namespace ftmamba::lm {

std::string DecodedStream::push(int64_t id) {
  ids_.push_back(id);
  const std::string text = tokenizer_.decode(ids_, skip_special_);
  // An incomplete last character decodes to U+FFFD (EF BF BD) at the end: wait for the bytes that complete it.
  if (text.size() >= 3 && text.compare(text.size() - 3, 3, "\xEF\xBF\xBD") == 0) return "";
  if (text.size() <= printed_) return "";
  std::string fresh = text.substr(printed_);
  printed_ = text.size();
  return fresh;
}

std::string DecodedStream::finish() {
  const std::string text = tokenizer_.decode(ids_, skip_special_);
  std::string rest = text.size() > printed_ ? text.substr(printed_) : "";
  printed_ = text.size();
  return rest;
}

}  // namespace ftmamba::lm
