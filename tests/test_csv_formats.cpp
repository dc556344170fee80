// Tests for the CSV reader's formats: any delimiter (tab, ';', '|') under the same RFC 4180 quoting, gzip files
// decompressed as they stream (concatenated members, corrupt, truncated and empty streams, the caps applied to the
// decompressed text), csv_format_for's reading of file names, and the delimiter rules.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "error_message.h"
#include "ftmamba/core/error.h"
#include "ftmamba/data/csv.h"
#include "ftmamba/data/csv_format.h"
#include "ftmamba/data/csv_stream.h"
#include "gzip_file.h"
#include "scratch_dir.h"

namespace fs = std::filesystem;
using ftmamba::DataError;
using ftmamba::data::CsvFormat;
using ftmamba::data::CsvStream;
using ftmamba::data::read_csv;
using ftmamba_test::write_gzip;

using ftmamba_test::error_message;

namespace {

class CsvFormats : public ftmamba_test::ScratchDirTest {
 protected:
  fs::path write_gz(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    write_gzip(p, text);
    return p;
  }
};

std::vector<std::vector<std::string>> streamed_rows(const fs::path& path, const CsvFormat& format, size_t buffer) {
  CsvStream in(path, format, buffer);
  std::vector<std::vector<std::string>> rows{in.header()};
  std::vector<std::string> row;
  while (in.next(row)) rows.push_back(row);
  return rows;
}

using Rows = std::vector<std::vector<std::string>>;

}  // namespace

TEST(CsvFormatFor, FileNamesPickDelimiterAndGzip) {
  using ftmamba::data::csv_format_for;
  EXPECT_EQ(csv_format_for("d/users.csv").delimiter, ',');
  EXPECT_FALSE(csv_format_for("d/users.csv").gzip);
  EXPECT_EQ(csv_format_for("d/users.tsv").delimiter, '\t');
  EXPECT_EQ(csv_format_for("d/users.tsv.gz").delimiter, '\t');
  EXPECT_TRUE(csv_format_for("d/users.tsv.gz").gzip);
  EXPECT_EQ(csv_format_for("d/users.csv.gz").delimiter, ',');
  EXPECT_TRUE(csv_format_for("d/users.csv.gz").gzip);
  EXPECT_EQ(csv_format_for("d/users.tsv", ';').delimiter, ';');  // the schema's delimiter wins over the name
  EXPECT_EQ(csv_format_for("d/users.csv.gz", '\t').delimiter, '\t');
  EXPECT_FALSE(csv_format_for("d.gz/users.csv").gzip);  // the file's name, not its folder's
}

TEST(CsvFormatFor, DelimiterRules) {
  using ftmamba::data::delimiter_problem;
  for (const char* ok : {",", "\t", ";", "|", " ", "\x01"}) EXPECT_EQ(delimiter_problem(ok), "") << ok;
  EXPECT_CONTAINS(delimiter_problem("\""), "quote");
  EXPECT_CONTAINS(delimiter_problem("\n"), "line end");
  EXPECT_CONTAINS(delimiter_problem("\r"), "line end");
  EXPECT_CONTAINS(delimiter_problem(""), "empty");
  EXPECT_CONTAINS(delimiter_problem(";;"), "one ASCII character");
  EXPECT_CONTAINS(delimiter_problem("\xC2\xA7"), "one ASCII character");  // U+00A7, two bytes
  EXPECT_EQ(ftmamba::data::describe_delimiter('\t'), "tab");
  EXPECT_EQ(ftmamba::data::describe_delimiter(';'), "';'");
}

TEST_F(CsvFormats, TabSeparatedFileByItsName) {
  const auto p = write("t.tsv", "id\tname\tnote\n1\tAda, Countess\t\"a\ttab\"\n2\t\"x \"\"q\"\"\"\t\n");
  const auto t = read_csv(p);
  EXPECT_EQ(t.header, (std::vector<std::string>{"id", "name", "note"}));
  EXPECT_EQ(t.rows, (Rows{{"1", "Ada, Countess", "a\ttab"}, {"2", "x \"q\"", ""}}));
}

TEST_F(CsvFormats, SemicolonsWithQuotedSemicolonsNewlinesAndQuotes) {
  const std::string text =
      "id;label;price\r\na;\"x;y\";1,5\r\nb;\"two\nlines\";\"2\"\r\nc;\"say \"\"hi\"\"; ok\";3\r\n";
  const auto p = write("s.csv", text);
  const Rows want = {
      {"id", "label", "price"}, {"a", "x;y", "1,5"}, {"b", "two\nlines", "2"}, {"c", "say \"hi\"; ok", "3"}};
  const CsvFormat semicolon{';', false};
  // Every buffer size, so that each record crosses a buffer edge somewhere.
  for (size_t buffer = 4; buffer <= text.size() + 1; ++buffer)
    EXPECT_EQ(streamed_rows(p, semicolon, buffer), want) << "buffer " << buffer;
  // Read as commas, the same file is ragged: the delimiter really is the format's.
  EXPECT_CONTAINS(error_message<DataError>([&] { read_csv(p); }), "s.csv:2");
}

TEST_F(CsvFormats, DelimiterErrorsNameFileLineAndColumn) {
  const auto p = write("e.csv", "id|name\n1|\"ok\"\n2|\"bad\"x\n");
  EXPECT_CONTAINS(error_message<DataError>([&] {
                    read_csv(p, CsvFormat{'|', false});
                  }),
                  "e.csv:3:name: unexpected character after a closing quote");
  const auto r = write("r.csv", "id|name\n1|a|b\n");
  EXPECT_CONTAINS(error_message<DataError>([&] { read_csv(r, CsvFormat{'|', false}); }), "r.csv:2:3: row has 3 fields");
  // A comma is ordinary text under another delimiter, and a tab in a header is only a control character
  // where tab is not the delimiter.
  const auto h = write("h.csv", "a\tb\n1\t2\n");
  EXPECT_CONTAINS(error_message<DataError>([&] { read_csv(h); }), "contains a control character");
  EXPECT_EQ(read_csv(h, CsvFormat{'\t', false}).header, (std::vector<std::string>{"a", "b"}));
}

TEST_F(CsvFormats, AQuoteOrLineEndIsNoDelimiter) {
  const auto p = write("q.csv", "a\n1\n");
  for (const char bad : {'"', '\n', '\r'}) {
    try {
      CsvStream in(p, CsvFormat{bad, false});
      ADD_FAILURE() << "delimiter " << int(bad) << " accepted";
    } catch (const ftmamba::Error& e) {
      EXPECT_CONTAINS(e.what(), "q.csv");
    }
  }
}

TEST_F(CsvFormats, GzipFileStreamsToTheSameRows) {
  std::string text = "id,name,score\n";
  for (int r = 0; r < 5000; ++r) text += std::to_string(r) + ",\"name, " + std::to_string(r) + "\"," + "0.5\n";
  const auto plain = write("big.csv", text);
  const auto gz = write_gz("big.csv.gz", text);
  EXPECT_LT(fs::file_size(gz), fs::file_size(plain) / 4);
  const auto want = read_csv(plain);
  const auto got = read_csv(gz);  // gzip from the name
  EXPECT_EQ(got.rows, want.rows);
  EXPECT_EQ(got.line_of_row, want.line_of_row);
  EXPECT_EQ(got.path, gz.string());
  // Small buffers: records cross both the reader's buffer and zlib's output edges.
  EXPECT_EQ(streamed_rows(gz, CsvFormat{',', true}, 7).size(), want.rows.size() + 1);
  // Progress is counted in bytes of the file on disk, the text in decompressed bytes.
  CsvStream in(gz, 64);
  std::vector<std::string> row;
  while (in.next(row)) {
  }
  EXPECT_EQ(in.file_size(), fs::file_size(gz));
  EXPECT_EQ(in.file_bytes_read(), fs::file_size(gz));
  EXPECT_EQ(in.bytes_read(), text.size());
}

TEST_F(CsvFormats, GzipTabSeparatedAndConcatenatedMembers) {
  const fs::path p = dir_ / "t.tsv.gz";
  write_gzip(p, "id\tv\n1\ta,b\n");
  write_gzip(p, "2\t\"c\td\"\n", /*append=*/true);  // `cat a.gz b.gz`: a second member
  const auto t = read_csv(p);
  EXPECT_EQ(t.rows, (Rows{{"1", "a,b"}, {"2", "c\td"}}));
}

TEST_F(CsvFormats, CorruptGzipIsRefusedNamingTheFile) {
  std::string text = "id,v\n";
  for (int r = 0; r < 2000; ++r) text += std::to_string(r) + "," + std::to_string(r * 7) + "\n";
  const auto gz = write_gz("c.csv.gz", text);
  std::string bytes;
  {
    std::ifstream f(gz, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(f), {});
  }
  ASSERT_GT(bytes.size(), 100u);
  std::string corrupt = bytes;
  for (size_t k = 40; k < 60; ++k) corrupt[k] = static_cast<char>(corrupt[k] ^ 0x5A);
  const auto c = write("corrupt.csv.gz", corrupt);
  const std::string bad = error_message<DataError>([&] { read_csv(c); });
  EXPECT_CONTAINS(bad, c.string() + ": corrupt gzip stream");

  // Cut short: the file ends inside the compressed data.
  const auto t = write("truncated.csv.gz", bytes.substr(0, bytes.size() / 2));
  EXPECT_CONTAINS(error_message<DataError>([&] { read_csv(t); }), t.string() + ": truncated gzip stream");
  // Only the 8-byte trailer (CRC and length) missing: still truncated, not quietly accepted.
  const auto no_trailer = write("notrailer.csv.gz", bytes.substr(0, bytes.size() - 8));
  EXPECT_CONTAINS(error_message<DataError>([&] { read_csv(no_trailer); }), "truncated gzip stream");
  // A wrong CRC.
  std::string bad_crc = bytes;
  bad_crc[bad_crc.size() - 8] = static_cast<char>(bad_crc[bad_crc.size() - 8] ^ 1);
  const auto crc = write("crc.csv.gz", bad_crc);
  EXPECT_CONTAINS(error_message<DataError>([&] { read_csv(crc); }), crc.string() + ": corrupt gzip stream");
  // Plain text under a .gz name, an empty file, and bytes after the last member.
  EXPECT_CONTAINS(error_message<DataError>([&] { read_csv(write("plain.csv.gz", "id,v\n1,2\n")); }),
                  "corrupt gzip stream");
  EXPECT_CONTAINS(error_message<DataError>([&] { read_csv(write("empty.csv.gz", "")); }), "empty.csv.gz: empty file");
  const auto trailing = write("trailing.csv.gz", bytes + "junk");
  EXPECT_CONTAINS(error_message<DataError>([&] { read_csv(trailing); }), "trailing.csv.gz: corrupt gzip stream");
}

TEST_F(CsvFormats, GzipBombMeetsTheFieldAndLineCaps) {
  // 40 MiB of one unquoted field, and 40 MiB of one line of short fields, each a few kilobytes of gzip.
  const std::string field(size_t{40} << 20, 'a');
  const auto one_field = write_gz("field.csv.gz", "id,v\n1," + field + "\n");
  EXPECT_LT(fs::file_size(one_field), size_t{1} << 20);
  EXPECT_CONTAINS(error_message<DataError>([&] { read_csv(one_field); }), "field.csv.gz:2:v: field longer than 1 MiB");

  std::string line;
  line.reserve(size_t{40} << 20);
  while (line.size() < (size_t{40} << 20)) line += "x,";
  const auto one_line = write_gz("line.csv.gz", "id,v\n1," + line + "\n");
  CsvStream in(one_line, 4096);
  std::vector<std::string> row;
  EXPECT_CONTAINS(error_message<DataError>([&] { in.next(row); }), "line.csv.gz:2: line longer than 16 MiB");
  // A quoted field holding line ends meets the line cap.
  std::string lines;
  lines.reserve(size_t{20} << 20);
  while (lines.size() < (size_t{20} << 20)) lines += "\"a\nb\",";
  const auto quoted = write_gz("quoted.csv.gz", "id,v\n" + lines + "\n");
  CsvStream q(quoted, 4096);
  EXPECT_CONTAINS(error_message<DataError>([&] { q.next(row); }), "quoted.csv.gz:2: line longer than 16 MiB");
  EXPECT_LE(q.buffer_bytes(), 2 * ftmamba::data::kCsvMaxRecordBytes);
}

TEST_F(CsvFormats, AFifoNamedGzIsRefusedWithoutBlocking) {
  const fs::path fifo = dir_ / "users.csv.gz";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_CONTAINS(error_message<DataError>([&] { read_csv(fifo); }), "users.csv.gz: is a FIFO, not a regular file");
}
