// defines: invalid_utf8_at, utf8_lossy, code_point_at, is_white_space, TextNormalizer (see unicode_text.h).
#include "ftmamba/lm/unicode_text.h"

#include <unicode/bytestream.h>
#include <unicode/casemap.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>

#include "ftmamba/core/error.h"

namespace ftmamba::lm {
namespace {

// The length of the valid UTF-8 sequence at text[at], or, when there is none, minus the length of the maximal
// subpart of one (at least 1): the bytes that together stand for one U+FFFD.
int sequence_at(std::string_view text, size_t at) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(at);
  if (lead < 0x80) return 1;
  int width = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range
  if (lead >= 0xC2 && lead <= 0xDF) {
    width = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    width = 3;
    if (lead == 0xE0) lo = 0xA0;  // no overlong forms
    if (lead == 0xED) hi = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    width = 4;
    if (lead == 0xF0) lo = 0x90;
    if (lead == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return -1;
  }
  size_t j = at + 1;
  if (j >= text.size() || byte(j) < lo || byte(j) > hi) return -1;
  ++j;
  for (int k = 2; k < width; ++k, ++j)
    if (j >= text.size() || byte(j) < 0x80 || byte(j) > 0xBF) return -static_cast<int>(j - at);
  return width;
}

}  // namespace

size_t invalid_utf8_at(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const int n = sequence_at(text, i);
    if (n < 0) return i;
    i += static_cast<size_t>(n);
  }
  return std::string_view::npos;
}

std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    const int n = sequence_at(bytes, i);
    if (n > 0) {
      out.append(bytes.substr(i, static_cast<size_t>(n)));
      i += static_cast<size_t>(n);
    } else {
      out += "\xEF\xBF\xBD";
      i += static_cast<size_t>(-n);
    }
  }
  return out;
}

char32_t code_point_at(std::string_view text, size_t at, size_t* length) {
  const auto b = [&](size_t i) { return static_cast<char32_t>(static_cast<unsigned char>(text[at + i])); };
  const char32_t lead = b(0);
  if (lead < 0x80) {
    *length = 1;
    return lead;
  }
  if (lead < 0xE0) {
    *length = 2;
    return ((lead & 0x1F) << 6) | (b(1) & 0x3F);
  }
  if (lead < 0xF0) {
    *length = 3;
    return ((lead & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
  }
  *length = 4;
  return ((lead & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
}

bool is_white_space(char32_t c) { return u_isUWhiteSpace(static_cast<UChar32>(c)) != 0; }

std::string TextNormalizer::apply(std::string_view text) const {
  std::string current(text);
  for (const Step step : steps_) {
    UErrorCode status = U_ZERO_ERROR;
    std::string next;
    icu::StringByteSink<std::string> sink(&next);
    if (step == Step::kLowercase) {
      icu::CaseMap::utf8ToLower("", 0, icu::StringPiece(current), sink, nullptr, status);
    } else {
      const icu::Normalizer2* n = step == Step::kNfc    ? icu::Normalizer2::getNFCInstance(status)
                                  : step == Step::kNfd  ? icu::Normalizer2::getNFDInstance(status)
                                  : step == Step::kNfkc ? icu::Normalizer2::getNFKCInstance(status)
                                                        : icu::Normalizer2::getNFKDInstance(status);
      if (U_SUCCESS(status) && n->isNormalizedUTF8(icu::StringPiece(current), status) && U_SUCCESS(status)) continue;
      status = U_ZERO_ERROR;
      n->normalizeUTF8(0, icu::StringPiece(current), sink, nullptr, status);
    }
    if (U_FAILURE(status)) throw Error(std::string("Unicode normalization failed: ") + u_errorName(status));
    current = std::move(next);
  }
  return current;
}

}  // namespace ftmamba::lm
