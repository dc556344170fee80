// defines: parse_timestamp, the reading of an interaction's timestamp cell: a plain number (any unit,
// larger = later) or an ISO 8601 date / date-time (read by Howard Hinnant's date library), which becomes Unix
// seconds (UTC).
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace ftmamba::data {

// Accepts, with surrounding spaces:
//   a number as try_parse_number reads it ("1600732800", "3.5", "-2");
//   "YYYY-MM-DD"                                    -> midnight UTC of that day;
//   "YYYY-MM-DDTHH:MM:SS[.fraction]" or the same with a space for "T" (the fraction 1 to 9 digits, kept),
//   optionally followed by "Z", "+HH:MM", "-HH:MM", "+HHMM" or "-HHMM" (without one, read as UTC):
//   "2021-03-04T05:06:07+02:00" is "2021-03-04T03:06:07Z".
// Dates are proleptic Gregorian; month, day (leap years included), hour, minute, second and the offset are
// range checked. Returns nullopt for "" and for bad text; for bad text `why` (when given) says what is wrong.
std::optional<double> parse_timestamp(std::string_view text, std::string* why = nullptr);

// Days since 1970-01-01 of a proleptic Gregorian date (negative before 1970). No range checks.
int64_t days_from_civil(int64_t year, int month, int day);

// The date of a Unix time in seconds (UTC), as "YYYY-MM-DD".
std::string format_date(int64_t unix_seconds);

}  // namespace ftmamba::data
