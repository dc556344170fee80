// defines: the byte-level helpers of the CSV code (UTF-8 sequence check, hex byte, header list), shared by
// CsvStream and the CsvTable / message helpers of csv.cpp.
#include "ftmamba/data/csv_detail.h"

namespace ftmamba::data::csv_detail {

int utf8_sequence_length(const unsigned char* p, size_t avail, const char*& why) {
  const unsigned char b = p[0];
  int len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b < 0x80) return 1;
  if (b < 0xC2) {
    why = b < 0xC0 ? "unexpected continuation byte" : "overlong encoding";
    return 0;
  }
  if (b < 0xE0) {
    len = 2;
  } else if (b < 0xF0) {
    len = 3;
    if (b == 0xE0) lo = 0xA0;  // below is overlong
    if (b == 0xED) hi = 0x9F;  // above is a UTF-16 surrogate
  } else if (b < 0xF5) {
    len = 4;
    if (b == 0xF0) lo = 0x90;  // below is overlong
    if (b == 0xF4) hi = 0x8F;  // above is beyond U+10FFFF
  } else {
    why = "byte that never occurs in UTF-8";
    return 0;
  }
  for (int k = 1; k < len; ++k) {
    if (static_cast<size_t>(k) >= avail) return -1;
    const unsigned char lo_k = k == 1 ? lo : 0x80, hi_k = k == 1 ? hi : 0xBF;
    if (p[k] >= lo_k && p[k] <= hi_k) continue;
    const bool continuation = p[1] >= 0x80 && p[1] <= 0xBF;
    if (k == 1 && continuation && (b == 0xE0 || b == 0xF0))
      why = "overlong encoding";
    else if (k == 1 && continuation && b == 0xED)
      why = "UTF-16 surrogate";
    else if (k == 1 && continuation && b == 0xF4)
      why = "code point above U+10FFFF";
    else
      why = "truncated multi-byte sequence";
    return 0;
  }
  return len;
}

std::string hex_byte(unsigned char b) {
  static const char* digits = "0123456789ABCDEF";
  return std::string("0x") + digits[b >> 4] + digits[b & 15];
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (size_t k = 0; k < names.size(); ++k) {
    if (k > 0) out += ", ";
    out += names[k];
  }
  return out;
}

}  // namespace ftmamba::data::csv_detail
