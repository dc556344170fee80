// defines: parse_timestamp (numbers and ISO dates as Unix seconds), days_from_civil and format_date.
#include "ftmamba/data/timestamp.h"

#include <fmt/format.h>

#include <cstdint>

#include "ftmamba/data/csv.h"

namespace ftmamba::data {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `n` digits at text[pos]; false when any is not a digit or the text is too short.
bool read_digits(std::string_view text, size_t pos, size_t n, int& out) {
  if (pos + n > text.size()) return false;
  out = 0;
  for (size_t k = pos; k < pos + n; ++k) {
    if (!is_digit(text[k])) return false;
    out = out * 10 + (text[k] - '0');
  }
  return true;
}

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

}  // namespace

int64_t days_from_civil(int64_t y, int m, int d) {
  // Howard Hinnant's algorithm: eras of 400 years, March-based years so the leap day comes last.
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;                                    // [0, 399]
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365]
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            // [0, 146096]
  return era * 146097 + doe - 719468;
}

std::string format_date(int64_t unix_seconds) {
  // The inverse of days_from_civil, same source.
  int64_t z = (unix_seconds >= 0 ? unix_seconds : unix_seconds - 86399) / 86400 + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = yoe + era * 400 + (m <= 2);
  return fmt::format("{:04d}-{:02d}-{:02d}", y, m, d);
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
  const bool date_like = text.size() >= 5 && is_digit(text[0]) && is_digit(text[1]) && is_digit(text[2]) &&
                         is_digit(text[3]) && text[4] == '-';
  if (!date_like) {
    std::optional<double> v;
    std::string reason;
    if (!try_parse_number(text, v, reason))
      return fail(reason + " (a timestamp is a number or an ISO date such as 2020-09-22)");
    return v;
  }

  const std::string bad =
      "not an ISO date (YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS or YYYY-MM-DD HH:MM:SS[Z]): " + quote_for_message(text);
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (text.size() < 10 || !read_digits(text, 0, 4, year) || text[4] != '-' || !read_digits(text, 5, 2, month) ||
      text[7] != '-' || !read_digits(text, 8, 2, day))
    return fail(bad);
  std::string_view rest = text.substr(10);
  if (!rest.empty()) {
    if (rest.size() < 9 || (rest[0] != 'T' && rest[0] != ' ') || !read_digits(rest, 1, 2, hour) || rest[3] != ':' ||
        !read_digits(rest, 4, 2, minute) || rest[6] != ':' || !read_digits(rest, 7, 2, second))
      return fail(bad);
    rest.remove_prefix(9);
    if (rest == "Z") rest.remove_prefix(1);
    if (!rest.empty()) return fail(bad);
  }
  if (month < 1 || month > 12) return fail("month out of range in date " + quote_for_message(text));
  if (day < 1 || day > days_in_month(year, month)) return fail("day out of range in date " + quote_for_message(text));
  if (hour > 23 || minute > 59 || second > 59) return fail("time of day out of range in " + quote_for_message(text));
  const int64_t days = days_from_civil(year, month, day);
  return static_cast<double>(days * 86400 + hour * 3600 + minute * 60 + second);
}

}  // namespace ftmamba::data
