// defines: append_byte_level, append_bytes_of_token (see byte_level.h).
#include "ftmamba/lm/byte_level.h"

#include <array>

#include "ftmamba/lm/unicode_text.h"

namespace ftmamba::lm {
namespace {

bool stands_for_itself(int b) { return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255); }

struct Alphabet {
  std::array<std::string, 256> spelling;  // byte -> its character, UTF-8
  std::array<int, 0x144> byte_of{};       // code point (< U+0144) -> byte, -1 outside the alphabet
  Alphabet() {
    byte_of.fill(-1);
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      const int cp = stands_for_itself(b) ? b : next++;
      spelling[b] = cp < 0x80 ? std::string(1, static_cast<char>(cp))
                              : std::string{static_cast<char>(0xC0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3F))};
      byte_of[cp] = b;
    }
  }
};

const Alphabet& alphabet() {
  static const Alphabet a;
  return a;
}

}  // namespace

void append_byte_level(std::string_view bytes, std::string& out) {
  const auto& a = alphabet();
  for (const char c : bytes) out += a.spelling[static_cast<unsigned char>(c)];
}

bool append_bytes_of_token(std::string_view token, std::string& out) {
  const auto& a = alphabet();
  const size_t start = out.size();
  for (size_t at = 0; at < token.size();) {
    size_t len = 0;
    const char32_t cp = code_point_at(token, at, &len);
    at += len;
    if (cp >= a.byte_of.size() || a.byte_of[cp] < 0) {
      out.resize(start);
      return false;
    }
    out += static_cast<char>(a.byte_of[cp]);
  }
  return true;
}

}  // namespace ftmamba::lm
