// Fuzz target: the byte-level BPE tokenizer (lm/tokenizer.cpp), as a model folder's tokenizer.json and the text a
// user gives are read. The input is a tokenizer.json, a 0 byte, then a text: a tokenizer that loads encodes the text
// (when it is UTF-8) and decodes the ids back; an Error is a rejection, anything else a crash.
#include <cstring>
#include <string>
#include <string_view>

#include "ftmamba/lm/tokenizer.h"
#include "ftmamba/lm/unicode_text.h"
#include "fuzz_input.h"

using namespace ftmamba;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto* begin = reinterpret_cast<const char*>(data);
  const auto* zero = static_cast<const char*>(std::memchr(begin, 0, size));
  const size_t json_size = zero ? static_cast<size_t>(zero - begin) : size;
  const auto path = fuzz::write_input("tokenizer.json", data, json_size);
  const std::string_view text = zero ? std::string_view(zero + 1, size - json_size - 1) : std::string_view();
  fuzz::parse_or_reject([&] {
    const auto tokenizer = lm::Tokenizer::load(path);
    if (lm::invalid_utf8_at(text) != std::string_view::npos) return;
    const auto ids = tokenizer.encode(text);
    tokenizer.decode(ids, /*skip_special_tokens=*/false);
  });
  return 0;
}
