// Tests for CsvStream (the one CSV state machine, over every buffer edge), read_csv (built on it) and
// parse_number: RFC 4180 parsing, UTF-8 validation, and error messages that name file, line and column.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <string>
#include <vector>

#include "error_message.h"
#include "ftmamba/core/error.h"
#include "ftmamba/data/csv.h"
#include "ftmamba/data/csv_stream.h"
#include "scratch_dir.h"

namespace fs = std::filesystem;
using ftmamba::DataError;
using ftmamba::data::CsvStream;
using ftmamba::data::CsvTable;
using ftmamba::data::parse_number;
using ftmamba::data::read_csv;

using ftmamba_test::error_message;

namespace {

using CsvTest = ftmamba_test::ScratchDirTest;

// ---- helpers of the CsvStream tests ----------------------------------------------------------------

using Row = std::vector<std::string>;

fs::path temp_dir(const std::string& tag) {
  const fs::path d = fs::temp_directory_path() / ("ftmamba_csv_stream_" + std::to_string(::getpid()) + "_" + tag);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

void write(const fs::path& p, const std::string& bytes) { std::ofstream(p, std::ios::binary) << bytes; }

std::vector<Row> read_all(CsvStream& in, std::vector<int64_t>* lines = nullptr) {
  std::vector<Row> rows;
  Row row;
  while (in.next(row)) {
    rows.push_back(row);
    if (lines) lines->push_back(in.line());
  }
  return rows;
}

}  // namespace

// ---- CsvStream ------------------------------------------------------------------------------------

// Every RFC 4180 feature at once, with CRLF line ends, a BOM, blank lines and no final newline.
const std::string kTricky =
    "\xEF\xBB\xBFid,text,n\r\n"
    "1,plain,3\r\n"
    "2,\"comma, inside\",4\r\n"
    "\r\n"
    "3,\"two\nlines\",5\r\n"
    "4,\"doubled \"\"quotes\"\"\",6\r\n"
    "5,\"CRLF\r\ninside\",7\n"
    "6,,\n"
    "7,caf\xC3\xA9 \xE2\x80\x99s,\"\"\r\n"
    "\n"
    "8,\"\",last";

TEST(CsvStream, QuotedNewlinesCrlfAndQuotes) {
  const fs::path d = temp_dir("stream_basic");
  write(d / "t.csv", kTricky);
  CsvStream in(d / "t.csv", 8);
  EXPECT_EQ(in.header(), (Row{"id", "text", "n"}));
  std::vector<int64_t> lines;
  const auto rows = read_all(in, &lines);
  ASSERT_EQ(rows.size(), 8u);
  EXPECT_EQ(rows[1], (Row{"2", "comma, inside", "4"}));
  EXPECT_EQ(rows[2], (Row{"3", "two\nlines", "5"}));
  EXPECT_EQ(rows[3], (Row{"4", "doubled \"quotes\"", "6"}));
  EXPECT_EQ(rows[4], (Row{"5", "CRLF\r\ninside", "7"}));
  EXPECT_EQ(rows[5], (Row{"6", "", ""}));
  EXPECT_EQ(rows[6], (Row{"7", "caf\xC3\xA9 \xE2\x80\x99s", ""}));
  EXPECT_EQ(rows[7], (Row{"8", "", "last"}));
  // Physical lines: the blank line 4 is skipped, rows 3 and 5 span two lines each.
  EXPECT_EQ(lines, (std::vector<int64_t>{2, 3, 5, 7, 8, 10, 11, 13}));
  EXPECT_EQ(in.bytes_read(), kTricky.size());
  fs::remove_all(d);
}

TEST(CsvStream, SameRowsAsReadCsvAtEveryBufferSize) {
  const fs::path d = temp_dir("stream_sizes");
  write(d / "t.csv", kTricky);
  const auto table = read_csv(d / "t.csv");
  for (size_t buf = 4; buf <= 64; ++buf) {
    CsvStream in(d / "t.csv", buf);
    std::vector<int64_t> lines;
    EXPECT_EQ(in.header(), table.header) << buf;
    EXPECT_EQ(read_all(in, &lines), table.rows) << "buffer " << buf;
    EXPECT_EQ(lines, table.line_of_row) << "buffer " << buf;
  }
  fs::remove_all(d);
}

TEST(CsvStream, ErrorsNameFileLineAndColumn) {
  const fs::path d = temp_dir("stream_errors");
  const std::string p = (d / "t.csv").string();
  const auto first_error = [&](const std::string& bytes) {
    write(p, bytes);
    return error_message<DataError>([&] {
      CsvStream in(p, 5);
      read_all(in);
    });
  };
  // The ragged row starts on line 4, after a quoted field that spans lines 2-3.
  EXPECT_EQ(first_error("a,b,c\n1,\"x\ny\",2\n3,4\n"),
            p + ":4:c: row has 2 fields but the header has 3 (no value for 'c')");
  EXPECT_EQ(first_error("a,b\n1,2,3\n"), p + ":2:3: row has 3 fields but the header has 2");
  EXPECT_CONTAINS(first_error("a,b\n1,\"never closed\n2,3\n"), p + ":2:b: unterminated quoted field");
  EXPECT_CONTAINS(first_error("a,b\n1,\"x\"y\n"), p + ":2:b: unexpected character after a closing quote");
  EXPECT_CONTAINS(first_error("a,b\n1,x\"y\n"), p + ":2:b: quote inside an unquoted field");
  EXPECT_CONTAINS(first_error("a,b\n1,x\ry\n"), p + ":2:b: carriage return not followed by a line feed");
  EXPECT_CONTAINS(first_error("a,b\n1,caf\xC3\n"), p + ":2:b: invalid UTF-8");
  EXPECT_CONTAINS(first_error("a,a\n1,2\n"), p + ":1:2: duplicate column name 'a'");
  EXPECT_EQ(first_error(""), p + ":1: empty file: expected a header row");
  EXPECT_EQ(error_message<DataError>([&] { CsvStream in(d / "absent.csv"); }),
            (d / "absent.csv").string() + ": file not found");
  write(p, "a,b\n1,2\n");
  CsvStream in(p);
  EXPECT_EQ(error_message<DataError>([&] { in.column("zz"); }), p + ":1: missing column 'zz' (the header has: a, b)");
  fs::remove_all(d);
}

// A quoted field holding every special sequence ("" , CRLF, LF, a comma, a 2-, 3- and 4-byte character),
// a CRLF row end and a final bare CR, read with every buffer size from the smallest to the whole file: each
// buffer edge falls inside the quoted field, between the two quotes of "", between CR and LF, and inside
// each multi-byte character. The rows, their lines and the bytes read never depend on where it fell.
TEST(CsvStream, QuotedFieldAcrossEveryBufferEdge) {
  const fs::path d = temp_dir("stream_edges");
  const std::string bytes =
      "id,text,n\n"
      "1,\"say \"\"hi\"\", \xC3\xA9\xE2\x82\xAC\xF0\x9F\x99\x82\r\nnext\nlast\",2\r\n"
      "\"\"\"\"\"\",,\"\"\r\n"
      "\n"
      "3,\xE2\x82\xAC,4\r";
  write(d / "t.csv", bytes);
  const std::vector<Row> want = {
      {"1", "say \"hi\", \xC3\xA9\xE2\x82\xAC\xF0\x9F\x99\x82\r\nnext\nlast", "2"},
      {"\"\"", "", ""},
      {"3", "\xE2\x82\xAC", "4"},
  };
  for (size_t buf = 4; buf <= bytes.size() + 1; ++buf) {
    CsvStream in(d / "t.csv", buf);
    EXPECT_EQ(in.header(), (Row{"id", "text", "n"})) << "buffer " << buf;
    std::vector<int64_t> lines;
    EXPECT_EQ(read_all(in, &lines), want) << "buffer " << buf;
    // Row 1 spans lines 2-4; line 6 is blank.
    EXPECT_EQ(lines, (std::vector<int64_t>{2, 5, 7})) << "buffer " << buf;
    EXPECT_EQ(in.rows(), 3) << "buffer " << buf;
    EXPECT_EQ(in.bytes_read(), bytes.size()) << "buffer " << buf;
  }
  fs::remove_all(d);
}

// The full message of each error, at every buffer size: the state machine has no path where a buffer
// edge changes the line, the column or the byte it reports.
TEST(CsvStream, ErrorsAreTheSameAtEveryBufferEdge) {
  const fs::path d = temp_dir("stream_edge_errors");
  const std::string p = (d / "t.csv").string();
  struct Case {
    std::string bytes, message;
  };
  const std::vector<Case> cases = {
      {"a,b\n1,\"x\"\"y\"z\n", ":2:b: unexpected character after a closing quote (byte 9 of the line)"},
      {"a,b\n1,caf\xC3\xA9\xE2\x82x\n",
       ":2:b: invalid UTF-8 (truncated multi-byte sequence, byte 0xE2 at byte 8 of the line)"},
      {"a,b\n1,\"q\nr\xED\xA0\x80\"\n", ":3:b: invalid UTF-8 (UTF-16 surrogate, byte 0xED at byte 2 of the line)"},
      {"a,b\n1,ab\xE2\x82", ":2:b: invalid UTF-8 (truncated multi-byte sequence, byte 0xE2 at byte 5 of the line)"},
      {"a,b\n1,x\ry\n", ":2:b: carriage return not followed by a line feed (byte 4 of the line)"},
      {"a,b\n1,\"x\n\ny\n", ":2:b: unterminated quoted field (the quote opened here is never closed)"},
      {"a,b\n1,xy\"z\n",
       ":2:b: quote inside an unquoted field (byte 5 of the line); quote the whole field and double inner quotes"},
      {"a,b\n\"1\n2\",3\n4\n", ":4:b: row has 1 fields but the header has 2 (no value for 'b')"},
      {"a,\"b\"\"\"\n1,2,3\n", ":2:3: row has 3 fields but the header has 2"},
      {"a,\"x\ry\"\n", ":1:2: column name 'x\\ry' contains a control character"},
  };
  for (const Case& c : cases) {
    write(p, c.bytes);
    for (size_t buf = 4; buf <= c.bytes.size() + 1; ++buf) {
      EXPECT_EQ(error_message<DataError>([&] {
                  CsvStream in(p, buf);
                  read_all(in);
                }),
                p + c.message)
          << "buffer " << buf;
    }
    // read_csv is the same reader with its default buffer.
    EXPECT_EQ(error_message<DataError>([&] { read_csv(p); }), p + c.message);
  }
  fs::remove_all(d);
}

// Memory is the buffer: it stays at the size asked for however long the file, shrinks to a small file's
// size, and grows only to hold a record longer than itself.
TEST(CsvStream, MemoryIsTheBuffer) {
  const fs::path d = temp_dir("stream_memory");
  std::string big = "k,v\n";
  for (int r = 0; r < 20000; ++r) big += std::to_string(r) + ",\"value " + std::to_string(r * 7) + "\"\n";
  write(d / "big.csv", big);
  CsvStream in(d / "big.csv", 4096);
  Row row;
  int64_t n = 0, sum = 0;
  while (in.next(row)) {
    EXPECT_EQ(row[1], "value " + std::to_string(n * 7));
    sum += std::stoll(row[0]);
    ++n;
  }
  EXPECT_EQ(n, 20000);
  EXPECT_EQ(sum, int64_t{20000} * 19999 / 2);
  EXPECT_EQ(in.buffer_bytes(), 4096u);
  EXPECT_EQ(in.bytes_read(), big.size());

  write(d / "small.csv", "a,b\n1,2\n");
  EXPECT_EQ(CsvStream(d / "small.csv").buffer_bytes(), 9u);  // the file and one byte to see its end

  const std::string field(10000, 'x');
  write(d / "long.csv", "a,b\n1,\"" + field + "\"\n2,y\n");
  CsvStream grown(d / "long.csv", 64);
  EXPECT_EQ(read_all(grown), (std::vector<Row>{{"1", field}, {"2", "y"}}));
  EXPECT_GE(grown.buffer_bytes(), field.size());
  EXPECT_LE(grown.buffer_bytes(), 4 * field.size());
  fs::remove_all(d);
}

// The row count of a file, told from the rows read so far: exact when rows are alike, what was read at the end.
TEST(CsvStream, EstimatedRows) {
  const fs::path d = temp_dir("stream_estimate");
  std::string csv = "id,v\n";
  for (int r = 0; r < 1000; ++r) csv += std::to_string(1000 + r) + ",x\n";  // 7 bytes a row
  write(d / "t.csv", csv);
  CsvStream in(d / "t.csv", 64);
  EXPECT_EQ(in.estimated_rows(), 0);  // nothing to go by yet
  Row row;
  for (int r = 0; r < 10; ++r) ASSERT_TRUE(in.next(row));
  EXPECT_EQ(in.estimated_rows(), 1000);
  while (in.next(row)) {
  }
  EXPECT_EQ(in.estimated_rows(), 1000);
  write(d / "u.csv", "id,v\n1,x\n22222222222222222222,y\n");  // a short first row: a guess
  CsvStream uneven(d / "u.csv");
  ASSERT_TRUE(uneven.next(row));
  EXPECT_EQ(uneven.estimated_rows(), 1 + 6);  // 23 bytes left at 4 a row
  fs::remove_all(d);
}

// ---- read_csv ---------------------------------------------------------------------------------------

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
  const std::string msg = error_message<DataError>([&] { t.column("zz"); });
  EXPECT_CONTAINS(msg, "t.csv:1:");
  EXPECT_CONTAINS(msg, "'zz'");
}

TEST_F(CsvTest, MissingFile) {
  const std::string msg = error_message<DataError>([&] { read_csv(dir_ / "nope.csv"); });
  EXPECT_CONTAINS(msg, "nope.csv");
  EXPECT_CONTAINS(msg, "not found");
  EXPECT_CONTAINS(error_message<DataError>([&] { read_csv(dir_); }), "directory");
}

TEST_F(CsvTest, EmptyFileHasNoHeader) {
  EXPECT_CONTAINS(error_message<DataError>([&] { read_csv(write("empty.csv", "")); }), "empty.csv:1: empty file");
  EXPECT_CONTAINS(error_message<DataError>([&] { read_csv(write("bom.csv", "\xEF\xBB\xBF")); }),
                  "bom.csv:1: empty file");
  EXPECT_CONTAINS(error_message<DataError>([&] { read_csv(write("blank.csv", "\n\r\n")); }), "blank.csv:1: empty file");
}

TEST_F(CsvTest, RaggedRowTooShortNamesFirstMissingColumn) {
  const auto p = write("t.csv", "a,b,c\n1,2,3\n4,5\n");
  const std::string msg = error_message<DataError>([&] { read_csv(p); });
  EXPECT_CONTAINS(msg, "t.csv:3:c: row has 2 fields but the header has 3");
}

TEST_F(CsvTest, RaggedRowTooLongNamesExtraColumnNumber) {
  const std::string msg = error_message<DataError>([&] { read_csv(write("t.csv", "a,b\n1,2\n3,4,5\n")); });
  EXPECT_CONTAINS(msg, "t.csv:3:3: row has 3 fields but the header has 2");
}

TEST_F(CsvTest, RaggedRowAfterMultiLineFieldReportsPhysicalLine) {
  const std::string msg = error_message<DataError>([&] { read_csv(write("t.csv", "a,b\n\"x\ny\",1\n2\n")); });
  EXPECT_CONTAINS(msg, "t.csv:4:b:");
}

TEST_F(CsvTest, UnterminatedQuoteNamesWhereItOpened) {
  const std::string msg = error_message<DataError>([&] { read_csv(write("t.csv", "a,b\n1,2\n3,\"open\nmore\n")); });
  EXPECT_CONTAINS(msg, "t.csv:3:b: unterminated quoted field");
}

TEST_F(CsvTest, TextAfterClosingQuote) {
  EXPECT_CONTAINS(error_message<DataError>([&] { read_csv(write("t.csv", "a,b\n1,\"x\"y\n")); }),
                  "t.csv:2:b: unexpected character");
}

TEST_F(CsvTest, QuoteInsideUnquotedField) {
  EXPECT_CONTAINS(error_message<DataError>([&] { read_csv(write("t.csv", "a,b\n1,x\"y\n")); }),
                  "t.csv:2:b: quote inside");
  // A space before the opening quote makes the field unquoted: a common mistake.
  EXPECT_CONTAINS(error_message<DataError>([&] { read_csv(write("u.csv", "a,b\n1, \"y\"\n")); }), "u.csv:2:b:");
}

TEST_F(CsvTest, BareCarriageReturn) {
  EXPECT_CONTAINS(error_message<DataError>([&] { read_csv(write("t.csv", "a,b\n1,2\r3,4\n")); }),
                  "t.csv:2:b: carriage return");
}

TEST_F(CsvTest, DuplicateHeaderName) {
  EXPECT_CONTAINS(error_message<DataError>([&] { read_csv(write("t.csv", "a,b,a\n1,2,3\n")); }),
                  "t.csv:1:3: duplicate column name 'a'");
}

TEST_F(CsvTest, ControlCharacterInColumnName) {
  // A quoted header name may hold a line break; it would split every later message, so it is refused.
  EXPECT_CONTAINS(error_message<DataError>([&] { read_csv(write("t.csv", "id,\"a\nb\"\n1,2\n")); }),
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
    const std::string msg = error_message<DataError>([&] { read_csv(p); });
    EXPECT_CONTAINS(msg, "t.csv:3:name: invalid UTF-8");
    EXPECT_CONTAINS(msg, c.reason);
    EXPECT_CONTAINS(msg, "at byte 5 of the line");
  }
  // A truncated sequence at the very end of the file, inside quotes, and in the header.
  EXPECT_CONTAINS(error_message<DataError>([&] { read_csv(write("e.csv", "id,name\n1,\xE2\x82")); }),
                  "e.csv:2:name: invalid UTF-8");
  EXPECT_CONTAINS(error_message<DataError>([&] { read_csv(write("q.csv", "id,name\n1,\"a\nb\xFF\"\n")); }),
                  "q.csv:3:name: invalid UTF-8");
  EXPECT_CONTAINS(error_message<DataError>([&] { read_csv(write("h.csv", "id,n\xFFme\n1,2\n")); }),
                  "h.csv:1:2: invalid UTF-8");
}

TEST_F(CsvTest, ParseNumberAcceptsNumbers) {
  const CsvTable t = read_csv(write("t.csv", "v\n1.5\n-2\n1e3\n+4\n\" 7 \"\n1e-400\n0.1\n-0\n1e30\n"));
  const std::vector<double> want = {1.5, -2.0, 1000.0, 4.0, 7.0, 0.0, 0.1, 0.0, 1e30};  // 1e30: the largest allowed
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
    const std::string msg = error_message<DataError>([&] { parse_number(t, r, 1); });
    EXPECT_CONTAINS(msg, "nums.csv:" + std::to_string(r + 2) + ":v: ");
  }
  EXPECT_CONTAINS(error_message<DataError>([&] { parse_number(t, 0, 1); }), "not a number: 'abc'");
  EXPECT_CONTAINS(error_message<DataError>([&] { parse_number(t, 2, 1); }), "not a finite number: 'nan'");
  EXPECT_CONTAINS(error_message<DataError>([&] { parse_number(t, 10, 1); }), "out of range: '1e999'");
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

// Only regular files are read: a FIFO is refused by name at once, where a plain open would wait for a writer
// forever. The open runs on another thread, so that a regression fails this test instead of hanging it.
TEST_F(CsvTest, AFifoIsRefusedWithoutBlocking) {
  const fs::path fifo = dir_ / "users.csv";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto opened = std::async(std::launch::async, [&] { return error_message<DataError>([&] { CsvStream in(fifo); }); });
  if (opened.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
    // Unblock the stuck reader (a writer that opens and closes gives it end of file), then fail.
    const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd >= 0) ::close(fd);
    opened.wait();
    FAIL() << "opening a FIFO as a CSV file blocked";
  }
  const std::string msg = opened.get();
  EXPECT_CONTAINS(msg, fifo.string() + ": is a FIFO, not a regular file");
  EXPECT_CONTAINS(error_message<DataError>([&] { read_csv(fifo); }), "users.csv: is a FIFO");
}

TEST_F(CsvTest, DevicesAndDirectoriesAreRefused) {
  // /dev/zero would feed a reader without end.
  EXPECT_CONTAINS(error_message<DataError>([] { CsvStream in("/dev/zero"); }), "/dev/zero: is a character device");
  EXPECT_CONTAINS(error_message<DataError>([&] { CsvStream in(dir_); }), "is a directory");
}

// A line of 20 MB of commas: refused at the 16 MiB row limit with FILE:LINE, and the fields past the header's
// width are counted, not stored, so memory stays near the buffer.
TEST_F(CsvTest, AHugeLineOfCommasIsRefusedWithFileAndLine) {
  const auto p = write("t.csv", "a,b\n1,2\n" + std::string(20'000'000, ',') + "\n");
  const std::string msg = error_message<DataError>([&] { read_csv(p); });
  EXPECT_CONTAINS(msg, p.string() + ":3: line longer than 16 MiB");
  CsvStream in(p);
  std::vector<std::string> row;
  ASSERT_TRUE(in.next(row));
  EXPECT_THROW(in.next(row), DataError);
  EXPECT_LE(in.buffer_bytes(), 2 * ftmamba::data::kCsvMaxRecordBytes);
}

TEST_F(CsvTest, RowsWithManyExtraFieldsStoreOnlyTheHeadersWidth) {
  const auto p = write("t.csv", "a,b\n" + std::string(100'000, ',') + "\n");
  EXPECT_EQ(error_message<DataError>([&] { read_csv(p); }),
            p.string() + ":2:3: row has 100001 fields but the header has 2");
}

TEST_F(CsvTest, FieldAndHeaderLimits) {
  const auto long_field = write("f.csv", "a,b\n1," + std::string(ftmamba::data::kCsvMaxFieldBytes + 1, 'x') + "\n");
  EXPECT_CONTAINS(error_message<DataError>([&] { read_csv(long_field); }),
                  long_field.string() + ":2:b: field longer than 1 MiB");
  const auto long_quoted =
      write("q.csv", "a,b\n\"" + std::string(ftmamba::data::kCsvMaxFieldBytes + 1, 'x') + "\",1\n");
  EXPECT_CONTAINS(error_message<DataError>([&] { read_csv(long_quoted); }),
                  long_quoted.string() + ":2:a: field longer than 1 MiB");
  // A field just under the limit is read.
  const auto fits = write("ok.csv", "a\n" + std::string(ftmamba::data::kCsvMaxFieldBytes, 'x') + "\n");
  EXPECT_EQ(read_csv(fits).rows.at(0).at(0).size(), ftmamba::data::kCsvMaxFieldBytes);
  std::string wide;
  for (size_t c = 0; c <= ftmamba::data::kCsvMaxColumns; ++c) wide += (c ? ",c" : "c") + std::to_string(c);
  const auto wide_header = write("h.csv", wide + "\n");
  EXPECT_CONTAINS(error_message<DataError>([&] { read_csv(wide_header); }), "the header has more than 65536 columns");
}

TEST(ParseNumber, ValuesBeyondTheSupportedRangeAreRefused) {
  std::optional<double> v;
  std::string why;
  EXPECT_TRUE(ftmamba::data::try_parse_number("1e30", v, why));
  EXPECT_TRUE(ftmamba::data::try_parse_number("-1e30", v, why));
  EXPECT_FALSE(ftmamba::data::try_parse_number("1e40", v, why));
  EXPECT_EQ(why, "number beyond the supported range (|x| <= 1e30): '1e40'");
  EXPECT_FALSE(ftmamba::data::try_parse_number("-2e31", v, why));
}
