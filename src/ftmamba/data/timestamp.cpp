// defines: parse_timestamp (numbers and ISO 8601 dates / date-times as Unix seconds), days_from_civil and
// format_date. The calendar work (field values, month lengths, leap years, time-of-day ranges, day counts) is
// Howard Hinnant's date library (date/date.h, Debian's libhowardhinnant-date-dev); this file only checks that
// the text has one of the accepted shapes, so that the library's laxer reading (one-digit months, any text
// after the seconds) never widens what a timestamp column may hold.
#include "ftmamba/data/timestamp.h"

// GCC 12 at -O3 sees date.h's seconds parser (a long double set only on success) as maybe used uninitialized.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <date/date.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#include <fmt/format.h>

#include <chrono>
#include <cstdint>
#include <sstream>

#include "ftmamba/data/csv.h"

namespace ftmamba::data {
namespace {

using Nanoseconds = std::chrono::duration<int64_t, std::nano>;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// True when `text` at `pos` has the shape `pattern`: 'd' is any digit, any other character itself.
bool has_shape(std::string_view text, size_t pos, std::string_view pattern) {
  if (pos + pattern.size() > text.size()) return false;
  for (size_t k = 0; k < pattern.size(); ++k) {
    const char c = text[pos + k];
    if (pattern[k] == 'd' ? !is_digit(c) : c != pattern[k]) return false;
  }
  return true;
}

// The parts of an ISO date-time, as text, once its shape is known to be right.
struct IsoParts {
  std::string_view date;    // YYYY-MM-DD
  std::string_view time;    // HH:MM:SS[.fraction], or empty
  std::string_view offset;  // HH:MM or HHMM after the sign, or empty (none, or Z)
  bool negative = false;    // the offset's sign is '-'
};

// Splits `text` into its parts; false when its shape is none of YYYY-MM-DD, YYYY-MM-DD[T ]HH:MM:SS[.fraction]
// followed by nothing, Z, +HH:MM, -HH:MM, +HHMM or -HHMM (the fraction has 1 to 9 digits).
bool split_iso(std::string_view text, IsoParts& out) {
  if (!has_shape(text, 0, "dddd-dd-dd")) return false;
  out.date = text.substr(0, 10);
  if (text.size() == 10) return true;
  if ((text[10] != 'T' && text[10] != ' ') || !has_shape(text, 11, "dd:dd:dd")) return false;
  size_t end = 19;
  if (end < text.size() && text[end] == '.') {
    size_t digits = 0;
    while (end + 1 + digits < text.size() && is_digit(text[end + 1 + digits])) ++digits;
    if (digits == 0 || digits > 9) return false;  // the library reads to the nanosecond
    end += 1 + digits;
  }
  out.time = text.substr(11, end - 11);
  std::string_view zone = text.substr(end);
  if (zone.empty() || zone == "Z") return true;
  if (zone[0] != '+' && zone[0] != '-') return false;
  out.negative = zone[0] == '-';
  zone.remove_prefix(1);
  if (!(zone.size() == 5 && has_shape(zone, 0, "dd:dd")) && !(zone.size() == 4 && has_shape(zone, 0, "dddd")))
    return false;
  out.offset = zone;
  return true;
}

// date::parse of all of `text` with `format`; false when it fails or leaves text over.
template <class T>
bool parse_all(const std::string& text, const char* format, T& out) {
  std::istringstream in(text);
  in >> date::parse(format, out);
  return !in.fail() && in.peek() == std::char_traits<char>::eof();
}

}  // namespace

int64_t days_from_civil(int64_t y, int m, int d) {
  const date::year_month_day ymd{date::year{static_cast<int>(y)}, date::month{static_cast<unsigned>(m)},
                                 date::day{static_cast<unsigned>(d)}};
  return date::sys_days{ymd}.time_since_epoch().count();
}

std::string format_date(int64_t unix_seconds) {
  const auto day = date::floor<date::days>(date::sys_seconds{std::chrono::seconds{unix_seconds}});
  const date::year_month_day ymd{day};
  return fmt::format("{:04d}-{:02d}-{:02d}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                     static_cast<unsigned>(ymd.day()));
}

std::optional<double> parse_timestamp(std::string_view text, std::string* why) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  const auto fail = [&](const std::string& what) -> std::optional<double> {
    if (why) *why = what;
    return std::nullopt;
  };

  // A date starts with four digits and a dash; anything else is read as a number.
  if (!has_shape(text, 0, "dddd-")) {
    std::optional<double> v;
    std::string reason;
    if (!try_parse_number(text, v, reason))
      return fail(reason + " (a timestamp is a number or an ISO date such as 2020-09-22)");
    return v;
  }

  IsoParts parts;
  if (!split_iso(text, parts)) {
    return fail(
        "not an ISO date (YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SS[.fraction] with 'T' or a space, then optionally Z, "
        "+HH:MM or +HHMM): " +
        quote_for_message(text));
  }
  const std::string date_text(parts.date);
  date::year_month month;
  if (!parse_all(date_text.substr(0, 7), "%Y-%m", month))
    return fail("month out of range in date " + quote_for_message(text));
  date::sys_days day;
  if (!parse_all(date_text, "%Y-%m-%d", day)) return fail("day out of range in date " + quote_for_message(text));
  double seconds = static_cast<double>(day.time_since_epoch().count()) * 86400.0;
  if (parts.time.empty()) return seconds;

  // The time of day, and the offset as a time of day, are read on the epoch's day: the library checks their
  // ranges (hour 24, minute 60 and second 60 are refused), and no instant far from 1970 meets the nanosecond
  // clock's 292-year range.
  date::sys_time<Nanoseconds> time_of_day;
  if (!parse_all("1970-01-01T" + std::string(parts.time), "%Y-%m-%dT%H:%M:%S", time_of_day))
    return fail("time of day out of range in " + quote_for_message(text));
  seconds += static_cast<double>(time_of_day.time_since_epoch().count()) * 1e-9;
  if (!parts.offset.empty()) {
    date::sys_time<std::chrono::minutes> offset;
    const char* format = parts.offset.size() == 5 ? "%Y-%m-%dT%H:%M" : "%Y-%m-%dT%H%M";
    if (!parse_all("1970-01-01T" + std::string(parts.offset), format, offset))
      return fail("UTC offset out of range in " + quote_for_message(text));
    const double offset_seconds = static_cast<double>(offset.time_since_epoch().count()) * 60.0;
    seconds += parts.negative ? offset_seconds : -offset_seconds;  // 05:00+02:00 is 03:00 UTC
  }
  return seconds;
}

}  // namespace ftmamba::data
