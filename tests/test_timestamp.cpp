// Tests for parse_timestamp: numbers pass through, ISO dates and date-times become Unix seconds (UTC)
// with calendar checks, and bad text is refused with a reason.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "ftmamba/data/timestamp.h"

namespace data = ftmamba::data;

namespace {

double ts(const std::string& text) {
  std::string why;
  const auto v = data::parse_timestamp(text, &why);
  EXPECT_TRUE(v.has_value()) << text << ": " << why;
  return v.value_or(-1.0);
}

std::string error_of(const std::string& text) {
  std::string why;
  const auto v = data::parse_timestamp(text, &why);
  EXPECT_FALSE(v.has_value()) << text << " parsed as " << v.value_or(0.0);
  EXPECT_FALSE(why.empty()) << text;
  return why;
}

TEST(Timestamp, NumbersAreAcceptedAsBefore) {
  EXPECT_EQ(ts("1600732800"), 1600732800.0);
  EXPECT_EQ(ts(" 3.5 "), 3.5);
  EXPECT_EQ(ts("-2"), -2.0);
  EXPECT_EQ(ts("+7"), 7.0);
  EXPECT_EQ(ts("1e3"), 1000.0);
  EXPECT_EQ(ts("2020"), 2020.0);  // four digits without a dash are a number, not a year
}

TEST(Timestamp, KnownEpochValues) {
  EXPECT_EQ(ts("1970-01-01"), 0.0);
  EXPECT_EQ(ts("2020-09-22"), 1600732800.0);
  EXPECT_EQ(ts("2018-09-20"), 1537401600.0);  // the first day of the H&M transactions
  EXPECT_EQ(ts("2000-03-01"), 951868800.0);
  EXPECT_EQ(ts("1969-12-31"), -86400.0);
  EXPECT_EQ(ts("1900-03-01"), -2203891200.0);  // 1900 is not a leap year
  EXPECT_EQ(ts("2038-01-19T03:14:07"), 2147483647.0);
  EXPECT_EQ(ts("2038-01-19 03:14:07"), 2147483647.0);
  EXPECT_EQ(ts("2038-01-19T03:14:07Z"), 2147483647.0);
  EXPECT_EQ(ts(" 2020-09-22T23:59:59Z "), 1600732800.0 + 86399.0);
}

TEST(Timestamp, LeapDays) {
  EXPECT_EQ(ts("2020-02-29"), 1582934400.0);
  EXPECT_EQ(ts("2000-02-29"), 951782400.0);  // divisible by 400: leap
  EXPECT_EQ(ts("2020-03-01") - ts("2020-02-28"), 2.0 * 86400.0);
  EXPECT_EQ(ts("2019-03-01") - ts("2019-02-28"), 86400.0);
  EXPECT_NE(error_of("2019-02-29").find("day out of range"), std::string::npos);
  EXPECT_NE(error_of("1900-02-29").find("day out of range"), std::string::npos);  // divisible by 100 only
  EXPECT_NE(error_of("2020-02-30").find("day out of range"), std::string::npos);
  EXPECT_NE(error_of("2020-04-31").find("day out of range"), std::string::npos);
  EXPECT_EQ(ts("2020-12-31") - ts("2020-01-01"), 365.0 * 86400.0);
}

TEST(Timestamp, BadText) {
  EXPECT_NE(error_of("2020-13-01").find("month out of range"), std::string::npos);
  EXPECT_NE(error_of("2020-00-10").find("month out of range"), std::string::npos);
  EXPECT_NE(error_of("2020-01-00").find("day out of range"), std::string::npos);
  EXPECT_NE(error_of("2020-01-01T24:00:00").find("time of day out of range"), std::string::npos);
  EXPECT_NE(error_of("2020-01-01T12:60:00").find("time of day out of range"), std::string::npos);
  for (const char* bad : {"2020-1-01",
                          "2020-01-1",
                          "2020-01-01T12:00",
                          "2020-01-01Z",
                          "2020-01-01X12:00:00",
                          "2020-01-01 12:00:00ZZ",
                          "2020-01-01T1a:00:00",
                          "2020-0a-01",
                          "2020-01-01T12:00:00+2:00",
                          "2020-01-01T12:00:00+02",
                          "2020-01-01T12:00:00+02:0",
                          "2020-01-01T12:00:00+020",
                          "2020-01-01T12:00:00 +02:00",
                          "2020-01-01T12:00:00Z+02:00",
                          "2020-01-01T12:00:00.",
                          "2020-01-01T12:00:00.5.5",
                          "2020-01-01T12:00:00,5",
                          "2020-01-01T12:00:00.1234567891",
                          "2020-01-01T12:00:00.5 Z",
                          "2020-01-01+02:00",
                          "2020-01-01T 12:00:00"})
    EXPECT_NE(error_of(bad).find("not an ISO date"), std::string::npos) << bad;
  const std::string why = error_of("x200");
  EXPECT_NE(why.find("not a number: 'x200'"), std::string::npos) << why;
  EXPECT_NE(why.find("ISO date"), std::string::npos) << why;
  error_of("nan");
  error_of("1e999");
  error_of("22-09-2020");
  EXPECT_NE(error_of("2020/01/01").find("ISO date such as 2020-09-22"), std::string::npos);
}

TEST(Timestamp, UtcOffsetsAreSubtracted) {
  const double utc = ts("2021-03-04T03:06:07Z");
  EXPECT_EQ(utc, 1614827167.0);
  EXPECT_EQ(ts("2021-03-04T05:06:07+02:00"), utc);
  EXPECT_EQ(ts("2021-03-04T05:06:07+0200"), utc);
  EXPECT_EQ(ts("2021-03-04 05:06:07+02:00"), utc);
  EXPECT_EQ(ts("2021-03-04T00:36:07-02:30"), utc);
  EXPECT_EQ(ts("2021-03-04T00:36:07-0230"), utc);
  EXPECT_EQ(ts("2021-03-04T03:06:07+00:00"), utc);
  EXPECT_EQ(ts("2021-03-04T03:06:07-00:00"), utc);
  // An offset moves the instant across midnight, a month end and a year end.
  EXPECT_EQ(ts("2021-03-01T01:00:00+02:00"), ts("2021-02-28T23:00:00Z"));
  EXPECT_EQ(ts("2020-12-31T23:30:00-01:00"), ts("2021-01-01T00:30:00Z"));
  EXPECT_EQ(ts("2021-03-04T05:06:07.5+02:00"), utc + 0.5);
  // Offsets are checked as the times of day are.
  EXPECT_NE(error_of("2021-03-04T05:06:07+24:00").find("UTC offset out of range"), std::string::npos);
  EXPECT_NE(error_of("2021-03-04T05:06:07+02:60").find("UTC offset out of range"), std::string::npos);
  EXPECT_NE(error_of("2021-03-04T05:06:07-0299").find("UTC offset out of range"), std::string::npos);
}

TEST(Timestamp, FractionalSecondsAreKept) {
  const double whole = ts("2021-03-04T05:06:07Z");
  EXPECT_EQ(ts("2021-03-04T05:06:07.5Z"), whole + 0.5);
  EXPECT_EQ(ts("2021-03-04T05:06:07.5"), whole + 0.5);
  EXPECT_EQ(ts("2021-03-04 05:06:07.25"), whole + 0.25);
  EXPECT_NEAR(ts("2021-03-04T05:06:07.123Z") - whole, 0.123, 1e-6);
  EXPECT_NEAR(ts("2021-03-04 05:06:07.123456") - whole, 0.123456, 1e-6);        // pandas, microseconds
  EXPECT_NEAR(ts("2021-03-04 05:06:07.123456789") - whole, 0.123456789, 1e-6);  // pandas, nanoseconds
  EXPECT_EQ(ts("2021-03-04T05:06:07.000Z"), whole);
  EXPECT_EQ(ts("1969-12-31T23:59:59.5Z"), -0.5);
  EXPECT_LT(ts("2021-03-04T05:06:07.1"), ts("2021-03-04T05:06:07.2"));
  EXPECT_NE(error_of("2021-03-04T05:06:60.5").find("time of day out of range"), std::string::npos);
  EXPECT_NE(error_of("2021-03-04T25:06:07.5Z").find("time of day out of range"), std::string::npos);
}

TEST(Timestamp, DateTimesFarFromTheEpoch) {
  // The time of day is read on its own, so that no year overflows a nanosecond clock.
  EXPECT_EQ(ts("0001-01-01T00:00:01Z"), static_cast<double>(data::days_from_civil(1, 1, 1)) * 86400.0 + 1.0);
  EXPECT_EQ(ts("9999-12-31T23:59:59Z"), static_cast<double>(data::days_from_civil(9999, 12, 31)) * 86400.0 + 86399.0);
  EXPECT_EQ(ts("2262-04-12T00:00:00+01:00"), ts("2262-04-11T23:00:00"));
}

TEST(Timestamp, BlankIsMissingNotAnError) {
  std::string why;
  EXPECT_FALSE(data::parse_timestamp("", &why).has_value());
  EXPECT_FALSE(data::parse_timestamp("   ", &why).has_value());
  EXPECT_TRUE(why.empty());
}

TEST(Timestamp, FormatDateInvertsParsing) {
  EXPECT_EQ(data::format_date(0), "1970-01-01");
  EXPECT_EQ(data::format_date(1600732800), "2020-09-22");
  EXPECT_EQ(data::format_date(1600732800 + 86399), "2020-09-22");
  EXPECT_EQ(data::format_date(-1), "1969-12-31");
  for (int64_t day = -719000; day <= 2900000; day += 997) {  // years 0001 to 9909
    const std::string d = data::format_date(day * 86400 + 4321);
    EXPECT_EQ(ts(d), static_cast<double>(day * 86400)) << d;
  }
  EXPECT_EQ(data::days_from_civil(2020, 9, 22), 18527);
  EXPECT_EQ(data::days_from_civil(1970, 1, 1), 0);
  EXPECT_EQ(data::days_from_civil(1969, 12, 31), -1);
  EXPECT_EQ(data::days_from_civil(2000, 3, 1), 11017);
}

}  // namespace
