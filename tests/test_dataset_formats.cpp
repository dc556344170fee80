// Tests for dataset folders in other formats than comma-separated .csv: NAME.tsv, NAME.csv.gz, NAME.tsv.gz,
// schema.toml's [csv] delimiter (read, checked, written back by to_toml), and find_table_file's rule that a
// table has exactly one file. The loaded values must equal those of the same folder as plain CSV.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "error_message.h"
#include "ftmamba/core/error.h"
#include "ftmamba/data/dataset.h"
#include "ftmamba/data/schema.h"
#include "ftmamba/data/table_file.h"
#include "gzip_file.h"
#include "scratch_dir.h"

namespace fs = std::filesystem;
using ftmamba::DataError;
using ftmamba::data::Dataset;
using ftmamba::data::Schema;
using ftmamba_test::write_gzip;

namespace {

const char* kSchema = R"([users]
id = "user_id"
numerical = ["age"]
categorical = ["country"]

[items]
id = "item_id"
numerical = ["price"]
categorical = ["genre"]

[interactions]
user = "user_id"
item = "item_id"
timestamp = "ts"
)";

// The same tables as rows, written with each test's delimiter.
const std::vector<std::vector<std::string>> kUsers = {
    {"user_id", "age", "country"}, {"u1", "31", "SE"}, {"u2", "", "DE"}, {"u3", "45.5", ""}};
const std::vector<std::vector<std::string>> kItems = {
    {"item_id", "price", "genre"}, {"i1", "9.99", "rock; indie"}, {"i2", "1.5", "pop"}};
const std::vector<std::vector<std::string>> kInteractions = {{"user_id", "item_id", "ts"},
                                                             {"u1", "i1", "2021-03-04T05:06:07+02:00"},
                                                             {"u2", "i2", "2021-03-04 05:06:07.5"},
                                                             {"u1", "i2", "2021-03-04T03:06:07.250Z"},
                                                             {"u3", "i1", "100"}};

// Rows as text with `delim`, quoting a field that holds the delimiter, a quote or a line end.
std::string table_text(const std::vector<std::vector<std::string>>& rows, char delim) {
  std::string out;
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) {
      if (c > 0) out += delim;
      const std::string& f = row[c];
      if (f.find_first_of(std::string(1, delim) + "\"\r\n") == std::string::npos) {
        out += f;
        continue;
      }
      out += '"';
      for (const char ch : f) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
      out += '"';
    }
    out += "\n";
  }
  return out;
}

class DatasetFormats : public ftmamba_test::ScratchDirTest {
 protected:
  // Writes one table as NAME + suffix (".csv", ".tsv", ".csv.gz", ".tsv.gz") with `delim`.
  void table(const std::string& name, const std::string& suffix, char delim,
             const std::vector<std::vector<std::string>>& rows) const {
    const std::string text = table_text(rows, delim);
    if (suffix.size() > 3 && suffix.substr(suffix.size() - 3) == ".gz")
      write_gzip(dir_ / (name + suffix), text);
    else
      write(name + suffix, text);
  }

  std::string load_error() const {
    return ftmamba_test::error_message<DataError>([&] { Dataset::load(dir_); });
  }

  // The values every format must give.
  static void expect_the_data(const Dataset& d) {
    EXPECT_EQ(d.users.ids, (std::vector<std::string>{"u1", "u2", "u3"}));
    EXPECT_EQ(d.users.num(0, 0), 31.0);
    EXPECT_EQ(d.users.num(2, 0), 45.5);
    EXPECT_EQ(d.users.cat(1, 0), "DE");
    EXPECT_EQ(d.items.cat(0, 0), "rock; indie");
    EXPECT_EQ(d.items.num(0, 0), 9.99);
    EXPECT_EQ(d.interactions.user, (std::vector<int64_t>{0, 1, 0, 2}));
    EXPECT_EQ(d.interactions.item, (std::vector<int64_t>{0, 1, 1, 0}));
    // 05:06:07+02:00 is 03:06:07 UTC; the fractions are kept.
    const double t = 1614827167.0;  // 2021-03-04T03:06:07Z
    ASSERT_EQ(d.interactions.timestamp.size(), 4u);
    EXPECT_EQ(d.interactions.timestamp[0], t);
    EXPECT_EQ(d.interactions.timestamp[1], t + 2 * 3600 + 0.5);
    EXPECT_EQ(d.interactions.timestamp[2], t + 0.25);
    EXPECT_EQ(d.interactions.timestamp[3], 100.0);
  }
};

}  // namespace

TEST_F(DatasetFormats, PlainCsvGivesTheReferenceValues) {
  write("schema.toml", kSchema);
  table("users", ".csv", ',', kUsers);
  table("items", ".csv", ',', kItems);
  table("interactions", ".csv", ',', kInteractions);
  const Dataset d = Dataset::load(dir_);
  expect_the_data(d);
  EXPECT_EQ(d.users_file.path, dir_ / "users.csv");
  EXPECT_FALSE(d.schema.csv.delimiter.has_value());
}

TEST_F(DatasetFormats, TabSeparatedFolder) {
  write("schema.toml", kSchema);
  table("users", ".tsv", '\t', kUsers);
  table("items", ".tsv", '\t', kItems);
  table("interactions", ".tsv", '\t', kInteractions);
  const Dataset d = Dataset::load(dir_);
  expect_the_data(d);
  EXPECT_EQ(d.items_file.path, dir_ / "items.tsv");
  EXPECT_EQ(d.items_file.format.delimiter, '\t');
}

TEST_F(DatasetFormats, GzipFolderMixedWithPlainFiles) {
  write("schema.toml", kSchema);
  table("users", ".csv.gz", ',', kUsers);
  table("items", ".tsv.gz", '\t', kItems);
  table("interactions", ".csv", ',', kInteractions);
  const Dataset d = Dataset::load(dir_);
  expect_the_data(d);
  EXPECT_TRUE(d.users_file.format.gzip);
  EXPECT_EQ(d.items_file.format.delimiter, '\t');
  EXPECT_FALSE(d.interactions_file.format.gzip);
}

TEST_F(DatasetFormats, SemicolonDelimiterFromTheSchema) {
  write("schema.toml", std::string(kSchema) + "\n[csv]\ndelimiter = \";\"\n");
  table("users", ".csv", ';', kUsers);
  table("items", ".csv", ';', kItems);  // "rock; indie" is quoted
  table("interactions", ".csv.gz", ';', kInteractions);
  ASSERT_NE(table_text(kItems, ';').find("\"rock; indie\""), std::string::npos);
  const Dataset d = Dataset::load(dir_);
  expect_the_data(d);
  EXPECT_EQ(d.schema.csv.delimiter, ';');
  EXPECT_EQ(d.interactions_file.format.delimiter, ';');
}

TEST_F(DatasetFormats, SchemaDelimiterWinsOverTsvName) {
  // A .tsv file that is really '|'-separated reads as the schema says.
  write("schema.toml", std::string(kSchema) + "\n[csv]\ndelimiter = \"|\"\n");
  table("users", ".tsv", '|', kUsers);
  table("items", ".tsv", '|', kItems);
  table("interactions", ".tsv", '|', kInteractions);
  expect_the_data(Dataset::load(dir_));
}

TEST_F(DatasetFormats, ErrorsNameTheRealFile) {
  write("schema.toml", kSchema);
  table("users", ".tsv", '\t', kUsers);
  table("items", ".tsv.gz", '\t', kItems);
  auto bad = kInteractions;
  bad[3][0] = "u9";
  table("interactions", ".tsv", '\t', bad);
  const std::string msg = load_error();
  EXPECT_CONTAINS(msg, "interactions.tsv:4:user_id: user id 'u9' is not in users.tsv");
  auto bad_ts = kInteractions;
  bad_ts[2][2] = "2021-02-30T00:00:00Z";
  table("interactions", ".tsv", '\t', bad_ts);
  EXPECT_CONTAINS(load_error(), "interactions.tsv:3:ts: day out of range");
  table("interactions", ".tsv", '\t', kInteractions);
  auto bad_item = kItems;
  bad_item[2][1] = "cheap";
  table("items", ".tsv.gz", '\t', bad_item);
  EXPECT_CONTAINS(load_error(), (dir_ / "items.tsv.gz").string() + ":3:price: not a number: 'cheap'");
}

TEST_F(DatasetFormats, TwoFilesForOneTableIsAnError) {
  write("schema.toml", kSchema);
  table("users", ".csv", ',', kUsers);
  table("users", ".tsv.gz", '\t', kUsers);
  table("items", ".csv", ',', kItems);
  table("interactions", ".csv", ',', kInteractions);
  const std::string msg = load_error();
  EXPECT_CONTAINS(msg, (dir_ / "users.csv").string() + " and " + (dir_ / "users.tsv.gz").string());
  EXPECT_CONTAINS(msg, "more than one file holds the users table");
}

TEST_F(DatasetFormats, NoFileNamesEveryNameTried) {
  write("schema.toml", kSchema);
  table("users", ".csv", ',', kUsers);
  table("interactions", ".csv", ',', kInteractions);
  const std::string msg = load_error();
  EXPECT_CONTAINS(msg,
                  (dir_ / "items.csv").string() + ": file not found (nor items.tsv, items.csv.gz or items.tsv.gz)");
  EXPECT_TRUE(ftmamba::data::existing_table_files(dir_, "items").empty());
  EXPECT_EQ(ftmamba::data::existing_table_files(dir_, "users"), (std::vector<fs::path>{dir_ / "users.csv"}));
}

TEST_F(DatasetFormats, CorruptGzipTableNamesTheFile) {
  write("schema.toml", kSchema);
  table("users", ".csv", ',', kUsers);
  table("items", ".csv", ',', kItems);
  write("interactions.csv.gz", "user_id,item_id,ts\nu1,i1,1\n");  // not gzip
  EXPECT_CONTAINS(load_error(), (dir_ / "interactions.csv.gz").string() + ": corrupt gzip stream");
}

TEST_F(DatasetFormats, SchemaCsvTableRoundTrips) {
  // As schema.toml spells them: tab, ';', '|', a backslash, U+0001 and ',' (the default, said out loud).
  for (const char* delim : {"\\t", ";", "|", "\\\\", "\\u0001", ","}) {
    write("schema.toml", std::string(kSchema) + "\n[csv]\ndelimiter = \"" + delim + "\"\n");
    const Schema s = Schema::load(dir_ / "schema.toml");
    ASSERT_TRUE(s.csv.delimiter.has_value()) << delim;
    const std::string text = s.to_toml();
    EXPECT_NE(text.find("[csv]"), std::string::npos) << text;
    write("again.toml", text);
    const Schema t = Schema::load(dir_ / "again.toml");
    EXPECT_EQ(t.csv.delimiter, s.csv.delimiter) << delim;
    EXPECT_EQ(t.to_toml(), text);
  }
  EXPECT_EQ(Schema::load(dir_ / "schema.toml").csv.delimiter, ',');
  // Without [csv], to_toml writes none.
  write("schema.toml", kSchema);
  const Schema plain = Schema::load(dir_ / "schema.toml");
  EXPECT_FALSE(plain.csv.delimiter.has_value());
  EXPECT_EQ(plain.to_toml().find("[csv]"), std::string::npos);
  // An empty [csv] table is allowed and sets nothing.
  write("schema.toml", std::string(kSchema) + "\n[csv]\n");
  EXPECT_FALSE(Schema::load(dir_ / "schema.toml").csv.delimiter.has_value());
  Schema tab = plain;
  tab.csv.delimiter = '\t';
  EXPECT_NE(tab.to_toml().find("[csv]\ndelimiter = \"\\t\""), std::string::npos) << tab.to_toml();
}

TEST_F(DatasetFormats, SchemaCsvTableIsChecked) {
  const auto error_for = [&](const std::string& csv_table) {
    // Before the other tables, so that a plain key is a key of the root table.
    write("schema.toml", csv_table + "\n" + kSchema);
    try {
      Schema::load(dir_ / "schema.toml");
    } catch (const DataError& e) {
      return std::string(e.what());
    }
    ADD_FAILURE() << csv_table << " accepted";
    return std::string();
  };
  EXPECT_CONTAINS(error_for("[csv]\ndelimiter = \";;\"\n"), "key 'csv.delimiter': a delimiter is one ASCII character");
  EXPECT_CONTAINS(error_for("[csv]\ndelimiter = \"\"\n"), "key 'csv.delimiter'");
  EXPECT_CONTAINS(error_for("[csv]\ndelimiter = \"\\\"\"\n"), "the quote character cannot be the delimiter");
  EXPECT_CONTAINS(error_for("[csv]\ndelimiter = \"\\n\"\n"), "a line end cannot be the delimiter");
  EXPECT_CONTAINS(error_for("[csv]\ndelimiter = 9\n"), "key 'csv.delimiter': expected a one-character string");
  EXPECT_CONTAINS(error_for("[csv]\ndelimeter = \";\"\n"),
                  "key 'csv.delimeter': unknown key (did you mean 'csv.delimiter'?)");
  EXPECT_CONTAINS(error_for("csv = 1\n"), "key 'csv': expected a table");
}
