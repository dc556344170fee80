// Tests for read_csv and parse_number: RFC 4180 parsing, UTF-8 validation, and error messages that
// name file, line and column.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "ftmamba/core/error.h"
#include "ftmamba/data/csv.h"

namespace fs = std::filesystem;
using ftmamba::DataError;
using ftmamba::data::CsvTable;
using ftmamba::data::parse_number;
using ftmamba::data::read_csv;

namespace {

class CsvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("ftmamba_csv_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write(const std::string& name, const std::string& bytes) {
    const fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }

  fs::path dir_;
};

// Runs f, which must throw DataError, and returns its message (checked to be one line).
std::string data_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const DataError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "message spans lines: " << msg;
    EXPECT_EQ(msg.find('\r'), std::string::npos) << "message has a CR: " << msg;
    return msg;
  }
  ADD_FAILURE() << "no DataError thrown";
  return "";
}

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << "'" << (needle) << "' not in: " << (haystack)

}  // namespace

TEST_F(CsvTest, ParsesPlainFile) {
  const CsvTable t = read_csv(write("t.csv", "id,name,score\nu1,alice,1.5\nu2,bob,2\n"));
  EXPECT_EQ(t.header, (std::vector<std::string>{"id", "name", "score"}));
  ASSERT_EQ(t.size(), 2);
  EXPECT_EQ(t.rows[0], (std::vector<std::string>{"u1", "alice", "1.5"}));
  EXPECT_EQ(t.rows[1], (std::vector<std::string>{"u2", "bob", "2"}));
  EXPECT_EQ(t.line_of_row, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(t.path, (dir_ / "t.csv").string());
}

TEST_F(CsvTest, QuotedFieldsHoldCommasQuotesAndNewlines) {
  const CsvTable t =
      read_csv(write("t.csv", "id,text\n1,\"a,b\"\n2,\"say \"\"hi\"\"\"\n3,\"two\nlines\"\n4,plain\n5,\"\"\n"));
  ASSERT_EQ(t.size(), 5);
  EXPECT_EQ(t.rows[0][1], "a,b");
  EXPECT_EQ(t.rows[1][1], "say \"hi\"");
  EXPECT_EQ(t.rows[2][1], "two\nlines");
  EXPECT_EQ(t.rows[3][1], "plain");
  EXPECT_EQ(t.rows[4][1], "");
  // The record after the two-line field starts on physical line 6.
  EXPECT_EQ(t.line_of_row, (std::vector<int64_t>{2, 3, 4, 6, 7}));
}

TEST_F(CsvTest, CrlfLineEndings) {
  const CsvTable t = read_csv(write("t.csv", "a,b\r\n1,2\r\n3,\"x\r\ny\"\r\n5,6"));
  EXPECT_EQ(t.header, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(t.size(), 3);
  EXPECT_EQ(t.rows[0], (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(t.rows[1][1], "x\r\ny");  // line breaks inside quotes are data
  EXPECT_EQ(t.rows[2], (std::vector<std::string>{"5", "6"}));
  EXPECT_EQ(t.line_of_row, (std::vector<int64_t>{2, 3, 5}));
}

TEST_F(CsvTest, EmptyFieldsAreMissingValues) {
  const CsvTable t = read_csv(write("t.csv", "a,b,c\n,,\n1,\"\",3\n7,8,\n"));
  ASSERT_EQ(t.size(), 3);
  EXPECT_EQ(t.rows[0], (std::vector<std::string>{"", "", ""}));
  EXPECT_EQ(t.rows[1], (std::vector<std::string>{"1", "", "3"}));
  EXPECT_EQ(t.rows[2], (std::vector<std::string>{"7", "8", ""}));
  EXPECT_FALSE(parse_number(t, 0, 0).has_value());
  EXPECT_FALSE(parse_number(t, 1, 1).has_value());
}

TEST_F(CsvTest, ByteOrderMarkIsSkipped) {
  const CsvTable t = read_csv(write("t.csv", "\xEF\xBB\xBFid,x\n1,2\n"));
  EXPECT_EQ(t.header[0], "id");
  EXPECT_EQ(t.column("id"), 0);
}

TEST_F(CsvTest, TrailingNewlinesAndMissingFinalNewline) {
  EXPECT_EQ(read_csv(write("a.csv", "a,b\n1,2")).size(), 1);
  const CsvTable t = read_csv(write("b.csv", "a,b\n1,2\n\n\n"));
  EXPECT_EQ(t.size(), 1);
  EXPECT_EQ(read_csv(write("c.csv", "a,b\n")).size(), 0);  // header only is a table with no rows
}

TEST_F(CsvTest, AcceptsValidMultiByteUtf8) {
  const CsvTable t = read_csv(write("t.csv", "名前,x\n\xC3\xA9,\xF0\x9F\x99\x82\n\xEF\xBF\xBD,\xF4\x8F\xBF\xBF\n"));
  EXPECT_EQ(t.header[0], "名前");
  EXPECT_EQ(t.rows[0][0], "\xC3\xA9");          // é
  EXPECT_EQ(t.rows[0][1], "\xF0\x9F\x99\x82");  // a 4-byte emoji
  EXPECT_EQ(t.rows[1][1], "\xF4\x8F\xBF\xBF");  // U+10FFFF, the last code point
}

TEST_F(CsvTest, ColumnLookup) {
  const CsvTable t = read_csv(write("t.csv", "a,b,c\n1,2,3\n"));
  EXPECT_EQ(t.column("a"), 0);
  EXPECT_EQ(t.column("c"), 2);
  EXPECT_EQ(t.find_column("b"), 1);
  EXPECT_FALSE(t.find_column("zz").has_value());
  const std::string msg = data_error([&] { t.column("zz"); });
  EXPECT_CONTAINS(msg, "t.csv:1:");
  EXPECT_CONTAINS(msg, "'zz'");
}

TEST_F(CsvTest, MissingFile) {
  const std::string msg = data_error([&] { read_csv(dir_ / "nope.csv"); });
  EXPECT_CONTAINS(msg, "nope.csv");
  EXPECT_CONTAINS(msg, "not found");
  EXPECT_CONTAINS(data_error([&] { read_csv(dir_); }), "directory");
}

TEST_F(CsvTest, EmptyFileHasNoHeader) {
  EXPECT_CONTAINS(data_error([&] { read_csv(write("empty.csv", "")); }), "empty.csv:1: empty file");
  EXPECT_CONTAINS(data_error([&] { read_csv(write("bom.csv", "\xEF\xBB\xBF")); }), "bom.csv:1: empty file");
  EXPECT_CONTAINS(data_error([&] { read_csv(write("blank.csv", "\n\r\n")); }), "blank.csv:1: empty file");
}

TEST_F(CsvTest, RaggedRowTooShortNamesFirstMissingColumn) {
  const auto p = write("t.csv", "a,b,c\n1,2,3\n4,5\n");
  const std::string msg = data_error([&] { read_csv(p); });
  EXPECT_CONTAINS(msg, "t.csv:3:c: row has 2 fields but the header has 3");
}

TEST_F(CsvTest, RaggedRowTooLongNamesExtraColumnNumber) {
  const std::string msg = data_error([&] { read_csv(write("t.csv", "a,b\n1,2\n3,4,5\n")); });
  EXPECT_CONTAINS(msg, "t.csv:3:3: row has 3 fields but the header has 2");
}

TEST_F(CsvTest, RaggedRowAfterMultiLineFieldReportsPhysicalLine) {
  const std::string msg = data_error([&] { read_csv(write("t.csv", "a,b\n\"x\ny\",1\n2\n")); });
  EXPECT_CONTAINS(msg, "t.csv:4:b:");
}

TEST_F(CsvTest, UnterminatedQuoteNamesWhereItOpened) {
  const std::string msg = data_error([&] { read_csv(write("t.csv", "a,b\n1,2\n3,\"open\nmore\n")); });
  EXPECT_CONTAINS(msg, "t.csv:3:b: unterminated quoted field");
}

TEST_F(CsvTest, TextAfterClosingQuote) {
  EXPECT_CONTAINS(data_error([&] { read_csv(write("t.csv", "a,b\n1,\"x\"y\n")); }), "t.csv:2:b: unexpected character");
}

TEST_F(CsvTest, QuoteInsideUnquotedField) {
  EXPECT_CONTAINS(data_error([&] { read_csv(write("t.csv", "a,b\n1,x\"y\n")); }), "t.csv:2:b: quote inside");
  // A space before the opening quote makes the field unquoted: a common mistake.
  EXPECT_CONTAINS(data_error([&] { read_csv(write("u.csv", "a,b\n1, \"y\"\n")); }), "u.csv:2:b:");
}

TEST_F(CsvTest, BareCarriageReturn) {
  EXPECT_CONTAINS(data_error([&] { read_csv(write("t.csv", "a,b\n1,2\r3,4\n")); }), "t.csv:2:b: carriage return");
}

TEST_F(CsvTest, DuplicateHeaderName) {
  EXPECT_CONTAINS(data_error([&] { read_csv(write("t.csv", "a,b,a\n1,2,3\n")); }),
                  "t.csv:1:3: duplicate column name 'a'");
}

TEST_F(CsvTest, ControlCharacterInColumnName) {
  // A quoted header name may hold a line break; it would split every later message, so it is refused.
  EXPECT_CONTAINS(data_error([&] { read_csv(write("t.csv", "id,\"a\nb\"\n1,2\n")); }),
                  "t.csv:1:2: column name 'a\\nb' contains a control character");
}

TEST_F(CsvTest, InvalidUtf8NamesLineColumnAndReason) {
  struct Case {
    std::string bytes, reason;
  };
  const std::vector<Case> cases = {
      {"\xFF", "never occurs"},
      {"\xFE", "never occurs"},
      {"\xF5\x80\x80\x80", "never occurs"},
      {"\x80", "continuation byte"},
      {"\xC0\xAF", "overlong"},  // '/' in two bytes
      {"\xC1\xBF", "overlong"},
      {"\xE0\x80\xAF", "overlong"},      // '/' in three bytes
      {"\xF0\x80\x80\xAF", "overlong"},  // '/' in four bytes
      {"\xED\xA0\x80", "surrogate"},     // U+D800
      {"\xED\xBF\xBF", "surrogate"},     // U+DFFF
      {"\xF4\x90\x80\x80", "above U+10FFFF"},
      {"\xC3", "truncated"},  // lead byte followed by ASCII
      {"\xE2\x82", "truncated"},
  };
  for (const auto& c : cases) {
    const auto p = write("t.csv", "id,name\n1,ok\n2,ab" + c.bytes + "x\n");
    const std::string msg = data_error([&] { read_csv(p); });
    EXPECT_CONTAINS(msg, "t.csv:3:name: invalid UTF-8");
    EXPECT_CONTAINS(msg, c.reason);
    EXPECT_CONTAINS(msg, "at byte 5 of the line");
  }
  // A truncated sequence at the very end of the file, inside quotes, and in the header.
  EXPECT_CONTAINS(data_error([&] { read_csv(write("e.csv", "id,name\n1,\xE2\x82")); }), "e.csv:2:name: invalid UTF-8");
  EXPECT_CONTAINS(data_error([&] { read_csv(write("q.csv", "id,name\n1,\"a\nb\xFF\"\n")); }),
                  "q.csv:3:name: invalid UTF-8");
  EXPECT_CONTAINS(data_error([&] { read_csv(write("h.csv", "id,n\xFFme\n1,2\n")); }), "h.csv:1:2: invalid UTF-8");
}

TEST_F(CsvTest, ParseNumberAcceptsNumbers) {
  const CsvTable t =
      read_csv(write("t.csv", "v\n1.5\n-2\n1e3\n+4\n\" 7 \"\n1e-400\n0.1\n-0\n1.7976931348623157e308\n"));
  const std::vector<double> want = {1.5, -2.0, 1000.0, 4.0, 7.0, 0.0, 0.1, 0.0, 1.7976931348623157e308};
  ASSERT_EQ(t.size(), static_cast<int64_t>(want.size()));
  for (int64_t r = 0; r < t.size(); ++r) {
    const auto v = parse_number(t, r, 0);
    ASSERT_TRUE(v.has_value()) << r;
    EXPECT_EQ(*v, want[r]) << "row " << r;
  }
}

TEST_F(CsvTest, ParseNumberRejectsTextNanInfAndOverflow) {
  const std::vector<std::string> bad = {"abc",  "1.2.3",    "nan",       "NaN",   "-nan",   "+nan", "inf",
                                        "-inf", "Infinity", "-Infinity", "1e999", "-1e999", "0x10", "\"1,5\"",
                                        "+-1",  "--1",      "1 2",       "+",     "-",      "1e",   "e5"};
  std::string csv = "id,v\n";
  for (size_t k = 0; k < bad.size(); ++k) csv += std::to_string(k) + "," + bad[k] + "\n";
  const CsvTable t = read_csv(write("nums.csv", csv));
  ASSERT_EQ(t.size(), static_cast<int64_t>(bad.size()));
  for (int64_t r = 0; r < t.size(); ++r) {
    const std::string msg = data_error([&] { parse_number(t, r, 1); });
    EXPECT_CONTAINS(msg, "nums.csv:" + std::to_string(r + 2) + ":v: ");
  }
  EXPECT_CONTAINS(data_error([&] { parse_number(t, 0, 1); }), "not a number: 'abc'");
  EXPECT_CONTAINS(data_error([&] { parse_number(t, 2, 1); }), "not a finite number: 'nan'");
  EXPECT_CONTAINS(data_error([&] { parse_number(t, 10, 1); }), "out of range: '1e999'");
}

TEST_F(CsvTest, TryParseNumberDirectly) {
  std::optional<double> v;
  std::string why;
  EXPECT_TRUE(ftmamba::data::try_parse_number("  -3.25\t", v, why));
  EXPECT_EQ(v, -3.25);
  EXPECT_TRUE(ftmamba::data::try_parse_number("", v, why));
  EXPECT_FALSE(v.has_value());
  EXPECT_FALSE(ftmamba::data::try_parse_number("12abc", v, why));
  EXPECT_EQ(why, "not a number: '12abc'");
}

TEST_F(CsvTest, QuoteForMessageEscapesAndCuts) {
  EXPECT_EQ(ftmamba::data::quote_for_message("a\nb\r\t\x01"), "'a\\nb\\r\\t\\x01'");
  const std::string cut = ftmamba::data::quote_for_message(std::string(100, 'x'));
  EXPECT_EQ(cut, "'" + std::string(60, 'x') + "...'");
}

// The 160k-row interactions file of a preset is about this size; it must load well under a second.
TEST_F(CsvTest, LargeFileLoadsQuickly) {
  constexpr int kRows = 200000;
  std::string csv = "user_id,item_id,timestamp,weight,note\n";
  csv.reserve(kRows * 48);
  for (int r = 0; r < kRows; ++r) {
    // Appended piecewise: GCC 12 warns falsely on `"literal" + std::string` chains here.
    csv.append("U").append(std::to_string(r % 20011)).append(",I").append(std::to_string((r * 7) % 5003));
    csv.append(",").append(std::to_string(1700000000 + r)).append(",1.0,");
    csv.append(r % 10 == 0 ? "\"a, \"\"quoted\"\" note\"\n" : "\n");
  }
  const auto p = write("big.csv", csv);
  const auto t0 = std::chrono::steady_clock::now();
  const CsvTable t = read_csv(p);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(t.size(), kRows);
  EXPECT_EQ(t.rows[12345][0], "U12345");
  EXPECT_EQ(t.rows[10][4], "a, \"quoted\" note");
  EXPECT_EQ(t.line_of_row[kRows - 1], kRows + 1);
  EXPECT_LT(seconds, 1.0) << "read_csv took " << seconds << " s for " << kRows << " rows";
  std::printf("read_csv: %d rows in %.3f s\n", kRows, seconds);
}
