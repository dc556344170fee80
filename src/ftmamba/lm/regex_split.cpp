// defines: RegexSplitter (see regex_split.h).
#include "ftmamba/lm/regex_split.h"

// Oniguruma names its byte type UChar unless told not to, which is ICU's UTF-16 unit (lm/unicode_text.cpp).
#define ONIG_ESCAPE_UCHAR_COLLISION
#include <oniguruma.h>

#include <mutex>

#include "ftmamba/core/error.h"

namespace ftmamba::lm {

struct RegexSplitter::Compiled {
  OnigRegex regex = nullptr;
  ~Compiled() {
    if (regex) onig_free(regex);
  }
};

RegexSplitter::RegexSplitter(const std::string& pattern) : compiled_(std::make_unique<Compiled>()) {
  static std::once_flag init;
  std::call_once(init, [] {
    OnigEncoding encodings[] = {ONIG_ENCODING_UTF8};
    onig_initialize(encodings, 1);
  });
  OnigErrorInfo info;
  const auto* p = reinterpret_cast<const OnigUChar*>(pattern.data());
  const int rc = onig_new(&compiled_->regex, p, p + pattern.size(), ONIG_OPTION_NONE, ONIG_ENCODING_UTF8,
                          ONIG_SYNTAX_DEFAULT, &info);
  if (rc != ONIG_NORMAL) {
    OnigUChar message[ONIG_MAX_ERROR_MESSAGE_LEN];
    onig_error_code_to_str(message, rc, &info);
    compiled_->regex = nullptr;
    throw Error("the regular expression '" + pattern + "' does not compile: " + reinterpret_cast<char*>(message));
  }
}

RegexSplitter::~RegexSplitter() = default;
RegexSplitter::RegexSplitter(RegexSplitter&&) noexcept = default;
RegexSplitter& RegexSplitter::operator=(RegexSplitter&&) noexcept = default;

void RegexSplitter::split(std::string_view text, std::vector<std::string_view>& pieces) const {
  const auto* begin = reinterpret_cast<const OnigUChar*>(text.data());
  const auto* end = begin + text.size();
  OnigRegion* region = onig_region_new();
  size_t gap_start = 0, at = 0;
  while (at < text.size()) {
    const int found = onig_search(compiled_->regex, begin, end, begin + at, end, region, ONIG_OPTION_NONE);
    if (found < 0) break;  // ONIG_MISMATCH, or an error: the rest is one gap
    const auto match_begin = static_cast<size_t>(region->beg[0]), match_end = static_cast<size_t>(region->end[0]);
    if (match_begin > gap_start) pieces.push_back(text.substr(gap_start, match_begin - gap_start));
    if (match_end > match_begin) {
      pieces.push_back(text.substr(match_begin, match_end - match_begin));
      gap_start = at = match_end;
    } else {  // an empty match is no piece: the search goes on one character later
      gap_start = match_begin;
      at = match_end + 1;
      while (at < text.size() && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80) ++at;
    }
  }
  if (gap_start < text.size()) pieces.push_back(text.substr(gap_start));
  onig_region_free(region, 1);
}

}  // namespace ftmamba::lm
