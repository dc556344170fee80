// Tests for Schema::load and Dataset::load: a valid folder loads to the right values, and every kind
// of malformed input stops with a one-line DataError naming file, line and column (or TOML key).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "error_message.h"
#include "ftmamba/core/error.h"
#include "ftmamba/data/dataset.h"
#include "ftmamba/data/schema.h"
#include "scratch_dir.h"

namespace fs = std::filesystem;
using ftmamba::DataError;
using ftmamba::data::Dataset;
using ftmamba::data::Schema;

namespace {

const char* kSchema = R"([users]
id = "user_id"
numerical = ["age"]
categorical = ["country"]

[items]
id = "item_id"
numerical = ["price"]
categorical = ["genre", "brand"]

[interactions]
user = "user_id"
item = "item_id"
timestamp = "ts"
weight = "w"
)";

const char* kUsers = "user_id,age,country\nu1,31,SE\nu2,,DE\nu3,45.5,\n";
const char* kItems = "item_id,price,genre,brand\ni1,9.99,rock,acme\ni2,1.5,pop,\n";
const char* kInteractions = "user_id,item_id,ts,w\nu1,i1,100,1\nu2,i2,50,2.5\nu1,i2,200,\nu3,i1,10,1\n";

// Writes a dataset folder from the good files above, with some files replaced (or, for "", removed).
class DatasetTest : public ftmamba_test::ScratchDirTest {
 protected:
  void make(const std::map<std::string, std::string>& replace = {}) {
    std::map<std::string, std::string> files = {
        {"schema.toml", kSchema}, {"users.csv", kUsers}, {"items.csv", kItems}, {"interactions.csv", kInteractions}};
    for (const auto& [name, text] : replace) files[name] = text;
    for (const auto& [name, text] : files) {
      if (name.rfind("-", 0) == 0) continue;  // "-users.csv" means: leave the file out
      if (replace.count("-" + name) != 0) continue;
      std::ofstream(dir_ / name, std::ios::binary) << text;
    }
  }

  // Loads the folder, which must fail, and returns the one-line message.
  std::string load_error() const {
    return ftmamba_test::error_message<DataError>([&] { Dataset::load(dir_); });
  }

  // A schema with one line replaced, e.g. with_schema_line("numerical = [\"age\"]", "numerical = \"age\"").
  static std::string schema_with(const std::string& from, const std::string& to) {
    std::string s = kSchema;
    const size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  }
};

}  // namespace

TEST_F(DatasetTest, LoadsValidFolder) {
  make();
  const Dataset d = Dataset::load(dir_);
  EXPECT_EQ(d.schema.users.id, "user_id");
  EXPECT_EQ(d.schema.items.categorical, (std::vector<std::string>{"genre", "brand"}));
  EXPECT_EQ(d.schema.interactions.timestamp, "ts");

  EXPECT_EQ(d.users.ids, (std::vector<std::string>{"u1", "u2", "u3"}));
  EXPECT_EQ(d.users.index.at("u3"), 2);
  EXPECT_EQ(d.users.numerical_names, (std::vector<std::string>{"age"}));
  EXPECT_EQ(d.users.num(0, 0), 31.0);
  EXPECT_TRUE(std::isnan(d.users.num(1, 0)));  // missing
  EXPECT_EQ(d.users.num(2, 0), 45.5);
  EXPECT_EQ(d.users.cat(1, 0), "DE");
  EXPECT_EQ(d.users.cat(2, 0), "");

  EXPECT_EQ(d.items.size(), 2);
  EXPECT_EQ(d.items.num(0, 0), 9.99);
  EXPECT_EQ(d.items.cat(0, 0), "rock");
  EXPECT_EQ(d.items.cat(0, 1), "acme");
  EXPECT_EQ(d.items.cat(1, 1), "");

  EXPECT_EQ(d.interactions.user, (std::vector<int64_t>{0, 1, 0, 2}));
  EXPECT_EQ(d.interactions.item, (std::vector<int64_t>{0, 1, 1, 0}));
  EXPECT_EQ(d.interactions.timestamp, (std::vector<double>{100, 50, 200, 10}));
  EXPECT_EQ(d.interactions.weight, (std::vector<double>{1, 2.5, 1, 1}));  // empty weight -> 1
}

TEST_F(DatasetTest, TimestampAndWeightDefaultToRowOrderAndOne) {
  make({{"schema.toml", schema_with("timestamp = \"ts\"\nweight = \"w\"\n", "")}});
  const Dataset d = Dataset::load(dir_);
  EXPECT_FALSE(d.schema.interactions.timestamp.has_value());
  EXPECT_FALSE(d.schema.interactions.weight.has_value());
  EXPECT_EQ(d.interactions.timestamp, (std::vector<double>{0, 1, 2, 3}));
  EXPECT_EQ(d.interactions.weight, (std::vector<double>{1, 1, 1, 1}));
}

TEST_F(DatasetTest, TimestampsMayBeIsoDates) {
  // H&M's transactions carry a date (t_dat); numbers and dates may even be mixed.
  make({{"interactions.csv",
         "user_id,item_id,ts,w\nu1,i1,2020-09-22,1\nu2,i2,2018-09-20T00:00:01Z,1\nu1,i2,2020-02-29 12:00:00,\n"
         "u3,i1,5,1\n"}});
  const Dataset d = Dataset::load(dir_);
  EXPECT_EQ(d.interactions.timestamp, (std::vector<double>{1600732800, 1537401601, 1582977600, 5}));
  make({{"interactions.csv", "user_id,item_id,ts,w\nu1,i1,2020-09-22,1\nu2,i2,2019-02-29,1\n"}});
  EXPECT_CONTAINS(load_error(), "interactions.csv:3:ts: day out of range in date '2019-02-29'");
  make({{"interactions.csv", "user_id,item_id,ts,w\nu1,i1,2020-09-22,1\nu2,i2,2019-02-2,1\n"}});
  EXPECT_CONTAINS(load_error(), "interactions.csv:3:ts: not an ISO date");
}

TEST_F(DatasetTest, ColumnsAreFoundByNameInAnyOrder) {
  make({{"users.csv", "country,extra,user_id,age\nSE,x,u1,31\nDE,y,u2,\nFR,z,u3,45.5\n"}});
  const Dataset d = Dataset::load(dir_);
  EXPECT_EQ(d.users.ids, (std::vector<std::string>{"u1", "u2", "u3"}));
  EXPECT_EQ(d.users.num(2, 0), 45.5);
  EXPECT_EQ(d.users.cat(2, 0), "FR");
}

TEST_F(DatasetTest, MissingFiles) {
  for (const char* name : {"users.csv", "items.csv", "interactions.csv", "schema.toml"}) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    make({{std::string("-") + name, ""}});
    const std::string msg = load_error();
    EXPECT_CONTAINS(msg, name);
    EXPECT_CONTAINS(msg, "not found");
  }
}

TEST_F(DatasetTest, SchemaNamesUnknownColumn) {
  make({{"schema.toml", schema_with("numerical = [\"age\"]", "numerical = [\"age\", \"income\"]")}});
  EXPECT_CONTAINS(load_error(), "users.csv:1:income: missing column 'income'");
  make({{"schema.toml", schema_with("timestamp = \"ts\"", "timestamp = \"time\"")}});
  EXPECT_CONTAINS(load_error(), "interactions.csv:1:time: missing column 'time'");
  make({{"schema.toml", schema_with("id = \"item_id\"", "id = \"sku\"")}});
  EXPECT_CONTAINS(load_error(), "items.csv:1:sku: missing column 'sku'");
}

TEST_F(DatasetTest, RaggedRow) {
  make({{"items.csv", "item_id,price,genre,brand\ni1,9.99,rock,acme\ni2,1.5,pop\n"}});
  EXPECT_CONTAINS(load_error(), "items.csv:3:brand: row has 3 fields but the header has 4");
}

TEST_F(DatasetTest, UnparsableNumber) {
  make({{"users.csv", "user_id,age,country\nu1,31,SE\nu2,abc,DE\nu3,45.5,\n"}});
  EXPECT_CONTAINS(load_error(), "users.csv:3:age: not a number: 'abc'");
  make({{"interactions.csv", "user_id,item_id,ts,w\nu1,i1,100,1\nu2,i2,50,2.5\nu1,i2,x200,\n"}});
  EXPECT_CONTAINS(load_error(), "interactions.csv:4:ts: not a number: 'x200'");
  make({{"interactions.csv", "user_id,item_id,ts,w\nu1,i1,100,1\nu2,i2,,2.5\n"}});
  EXPECT_CONTAINS(load_error(), "interactions.csv:3:ts: missing timestamp");
  make({{"interactions.csv", "user_id,item_id,ts,w\nu1,i1,100,-1\n"}});
  EXPECT_CONTAINS(load_error(), "interactions.csv:2:w: negative weight");
}

TEST_F(DatasetTest, NanAndInfAreRejected) {
  for (const std::string v : {"nan", "NaN", "-nan", "inf", "-inf", "Infinity", "-Infinity", "1e999", "-1e400"}) {
    make({{"users.csv", "user_id,age,country\nu1,31,SE\nu2," + v + ",DE\n"}});
    EXPECT_CONTAINS(load_error(), "users.csv:3:age: ");
  }
  make({{"items.csv", "item_id,price,genre,brand\ni1,9.99,rock,acme\ni2,nan,pop,\n"}});
  EXPECT_CONTAINS(load_error(), "items.csv:3:price: not a finite number: 'nan'");
}

TEST_F(DatasetTest, InteractionWithUnknownIds) {
  make({{"interactions.csv", "user_id,item_id,ts,w\nu1,i1,100,1\nu9,i2,50,2.5\n"}});
  EXPECT_CONTAINS(load_error(), "interactions.csv:3:user_id: user id 'u9' is not in users.csv");
  make({{"interactions.csv", "user_id,item_id,ts,w\nu1,i1,100,1\nu2,i2,50,2.5\nu3,i7,1,1\n"}});
  EXPECT_CONTAINS(load_error(), "interactions.csv:4:item_id: item id 'i7' is not in items.csv");
  make({{"interactions.csv", "user_id,item_id,ts,w\n,i1,100,1\n"}});
  EXPECT_CONTAINS(load_error(), "interactions.csv:2:user_id: missing user id");
}

TEST_F(DatasetTest, EmptyTables) {
  make({{"users.csv", "user_id,age,country\n"}});
  EXPECT_CONTAINS(load_error(), "users.csv:2: table has no rows");
  make({{"items.csv", ""}});
  EXPECT_CONTAINS(load_error(), "items.csv:1: empty file");
  make({{"interactions.csv", "user_id,item_id,ts,w\r\n"}});
  EXPECT_CONTAINS(load_error(), "interactions.csv:2: table has no rows");
}

TEST_F(DatasetTest, DuplicateAndMissingIds) {
  make({{"users.csv", "user_id,age,country\nu1,31,SE\nu2,,DE\nu1,45.5,\n"}});
  EXPECT_CONTAINS(load_error(), "users.csv:4:user_id: duplicate id 'u1' (first on line 2)");
  make({{"items.csv", "item_id,price,genre,brand\ni1,9.99,rock,acme\n\"\",1.5,pop,\n"}});
  EXPECT_CONTAINS(load_error(), "items.csv:3:item_id: missing id");
}

TEST_F(DatasetTest, NonUtf8Byte) {
  make({{"users.csv", "user_id,age,country\nu1,31,SE\nu2,30,D\xFF\n"}});
  const std::string msg = load_error();
  EXPECT_CONTAINS(msg, "users.csv:3:country: invalid UTF-8");
  EXPECT_CONTAINS(msg, "byte 0xFF at byte 8 of the line");
}

TEST_F(DatasetTest, UnterminatedQuote) {
  make({{"items.csv", "item_id,price,genre,brand\ni1,9.99,rock,acme\ni2,1.5,\"pop,\n"}});
  EXPECT_CONTAINS(load_error(), "items.csv:3:genre: unterminated quoted field");
}

TEST_F(DatasetTest, SchemaUnknownKeySuggestsTheRightOne) {
  make({{"schema.toml", schema_with("categorical = [\"country\"]", "categoricals = [\"country\"]")}});
  EXPECT_CONTAINS(load_error(),
                  "schema.toml: key 'users.categoricals': unknown key (did you mean 'users.categorical'?) (line 4)");
  make({{"schema.toml", schema_with("[users]", "[user]")}});
  EXPECT_CONTAINS(load_error(), "schema.toml: key 'user': unknown key (did you mean 'users'?)");
  make({{"schema.toml", std::string(kSchema) + "[training]\nepochs = 3\n"}});
  EXPECT_CONTAINS(load_error(), "schema.toml: key 'training': unknown key (line 16)");
  make({{"schema.toml", schema_with("weight = \"w\"", "weight = \"w\"\nrating = \"r\"")}});
  EXPECT_CONTAINS(load_error(), "schema.toml: key 'interactions.rating': unknown key");
}

TEST_F(DatasetTest, SchemaMessagesStayOnOneLine) {
  make({{"schema.toml", schema_with("id = \"user_id\"", "id = \"user_id\"\n\"bad\\nkey\" = 1")}});
  EXPECT_CONTAINS(load_error(), "schema.toml: key 'users.bad\\nkey': unknown key (line 3)");
  make({{"schema.toml", schema_with("numerical = [\"age\"]", "numerical = [\"a\\tb\"]")}});
  EXPECT_CONTAINS(load_error(), "schema.toml: key 'users.numerical[0]': column name contains a control character");
}

TEST_F(DatasetTest, SchemaMissingRequiredKey) {
  make({{"schema.toml", schema_with("id = \"user_id\"\n", "")}});
  EXPECT_CONTAINS(load_error(), "schema.toml: key 'users.id': missing required key");
  make({{"schema.toml", schema_with("item = \"item_id\"\n", "")}});
  EXPECT_CONTAINS(load_error(), "schema.toml: key 'interactions.item': missing required key");
  std::string no_items = kSchema;
  no_items.erase(no_items.find("[items]"), no_items.find("[interactions]") - no_items.find("[items]"));
  make({{"schema.toml", no_items}});
  EXPECT_CONTAINS(load_error(), "schema.toml: key 'items': missing required table [items]");
}

TEST_F(DatasetTest, SchemaWrongTypes) {
  make({{"schema.toml", schema_with("numerical = [\"age\"]", "numerical = \"age\"")}});
  EXPECT_CONTAINS(load_error(),
                  "schema.toml: key 'users.numerical': expected an array of column names, got a string (line 3)");
  make({{"schema.toml", schema_with("numerical = [\"age\"]", "numerical = [\"age\", 3]")}});
  EXPECT_CONTAINS(load_error(),
                  "schema.toml: key 'users.numerical[1]': expected a column name (string), got an integer");
  make({{"schema.toml", schema_with("id = \"item_id\"", "id = 5")}});
  EXPECT_CONTAINS(load_error(),
                  "schema.toml: key 'items.id': expected a column name (string), got an integer (line 7)");
  make({{"schema.toml", schema_with("id = \"item_id\"", "id = \"\"")}});
  EXPECT_CONTAINS(load_error(), "schema.toml: key 'items.id': column name is empty");
  make({{"schema.toml", "users = 3\n"}});
  EXPECT_CONTAINS(load_error(), "schema.toml: key 'users': expected a table, got an integer");
}

TEST_F(DatasetTest, SchemaColumnListedTwiceOrIdAsFeature) {
  make({{"schema.toml", schema_with("categorical = [\"country\"]", "categorical = [\"country\", \"country\"]")}});
  EXPECT_CONTAINS(load_error(),
                  "key 'users.categorical[1]': column 'country' is listed twice (also at users.categorical[0])");
  make({{"schema.toml", schema_with("categorical = [\"country\"]", "categorical = [\"age\"]")}});
  EXPECT_CONTAINS(load_error(),
                  "key 'users.categorical[0]': column 'age' is listed twice (also at users.numerical[0])");
  make(
      {{"schema.toml", schema_with("categorical = [\"genre\", \"brand\"]", "categorical = [\"genre\", \"item_id\"]")}});
  EXPECT_CONTAINS(load_error(), "key 'items.categorical[1]': the id column 'item_id' cannot also be a feature");
  make({{"schema.toml", schema_with("item = \"item_id\"", "item = \"user_id\"")}});
  EXPECT_CONTAINS(load_error(), "key 'interactions.item': column 'user_id' is already used by interactions.user");
}

TEST_F(DatasetTest, SchemaSyntaxErrorNamesLine) {
  make({{"schema.toml", schema_with("id = \"item_id\"", "id = \"item_id")}});
  EXPECT_CONTAINS(load_error(), "schema.toml:7:");
}

TEST_F(DatasetTest, SchemaTomlRoundTrip) {
  make({{"schema.toml", schema_with("numerical = [\"age\"]", "numerical = [\"age\", \"a \\\"quoted\\\" name\"]")}});
  const Schema s = Schema::load(dir_ / "schema.toml");
  EXPECT_EQ(s.users.numerical, (std::vector<std::string>{"age", "a \"quoted\" name"}));
  std::ofstream(dir_ / "again.toml") << s.to_toml();
  const Schema t = Schema::load(dir_ / "again.toml");
  EXPECT_EQ(t.users.id, s.users.id);
  EXPECT_EQ(t.users.numerical, s.users.numerical);
  EXPECT_EQ(t.users.categorical, s.users.categorical);
  EXPECT_EQ(t.items.id, s.items.id);
  EXPECT_EQ(t.items.numerical, s.items.numerical);
  EXPECT_EQ(t.items.categorical, s.items.categorical);
  EXPECT_EQ(t.interactions.user, "user_id");
  EXPECT_EQ(t.interactions.item, "item_id");
  EXPECT_EQ(t.interactions.timestamp, "ts");
  EXPECT_EQ(t.interactions.weight, "w");
}

// A preset-sized dataset (160k interactions) must load well under a second.
TEST_F(DatasetTest, PresetSizedDatasetLoadsQuickly) {
  constexpr int64_t kUsersN = 20000, kItemsN = 5000, kPairs = 160000;
  std::string users = "user_id,age,country\n", items = "item_id,price,genre,brand\n";
  std::string inter = "user_id,item_id,ts,w\n";
  // Built with a variadic helper: GCC 12 warns falsely on `"literal" + std::string` chains here.
  const auto line = [](std::string& out, const auto&... parts) { ((out += parts), ...), out += '\n'; };
  for (int64_t u = 0; u < kUsersN; ++u) {
    line(users, "u", std::to_string(u), ",", std::to_string(18 + u % 60), ",C", std::to_string(u % 40));
  }
  for (int64_t i = 0; i < kItemsN; ++i) {
    line(items, "i", std::to_string(i), ",", std::to_string(i % 100), ".5,g", std::to_string(i % 12), ",b",
         std::to_string(i % 300));
  }
  for (int64_t k = 0; k < kPairs; ++k) {
    line(inter, "u", std::to_string((k * 7919) % kUsersN), ",i", std::to_string((k * 104729) % kItemsN), ",",
         std::to_string(1600000000 + k), ",1");
  }
  make({{"users.csv", users}, {"items.csv", items}, {"interactions.csv", inter}});
  const auto t0 = std::chrono::steady_clock::now();
  const Dataset d = Dataset::load(dir_);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(d.interactions.size(), kPairs);
  EXPECT_EQ(d.users.size(), kUsersN);
  EXPECT_EQ(d.interactions.user[1], 7919);
  EXPECT_EQ(d.interactions.item[1], 104729 % kItemsN);
  EXPECT_EQ(d.interactions.timestamp[kPairs - 1], 1600000000.0 + kPairs - 1);
  EXPECT_LT(seconds, 1.0) << "Dataset::load took " << seconds << " s";
  std::printf("Dataset::load: %lld interactions in %.3f s\n", static_cast<long long>(kPairs), seconds);
}
