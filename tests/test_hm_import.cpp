// Tests for the H&M Kaggle importer: HashedIdMap (its id index), take_pairs (the cut to exactly N pairs),
// and `import hm` on a
// generated fixture in the exact Kaggle schema, in process and through the binary: the sample follows the documented
// rule exactly, rows are copied byte for byte, the folder loads, and bad input fails with FILE:LINE:COLUMN leaving
// nothing behind.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "binary_runner.h"
#include "error_message.h"
#include "ftmamba/core/error.h"
#include "ftmamba/data/csv.h"
#include "ftmamba/data/dataset.h"
#include "ftmamba/data/loaders/hashed_id.h"
#include "ftmamba/data/loaders/hm_kaggle.h"
#include "ftmamba/data/schema.h"
#include "ftmamba/io/atomic_file.h"
#include "hm_kaggle_columns.h"

namespace fs = std::filesystem;
using ftmamba::DataError;
using ftmamba::Error;
using ftmamba::data::hash_id;
using ftmamba::data::HashedId;
using ftmamba::data::HashedIdMap;
using ftmamba::data::HmImportOptions;
using ftmamba::data::import_hm;
using ftmamba::data::read_csv;
using ftmamba::data::take_pairs;

using ftmamba_test::error_message;

namespace {

using Row = std::vector<std::string>;

fs::path temp_dir(const std::string& tag) {
  const fs::path d = fs::temp_directory_path() / ("ftmamba_hm_" + std::to_string(::getpid()) + "_" + tag);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

void write(const fs::path& p, const std::string& bytes) { std::ofstream(p, std::ios::binary) << bytes; }

// ---- HashedIdMap ----------------------------------------------------------------------------------

TEST(HashedIdMap, FindsEveryIdThroughGrowthAndMissesTheRest) {
  HashedIdMap<uint32_t> map;
  EXPECT_EQ(map.find(hash_id("x")), nullptr);  // an empty map has no slots yet
  constexpr uint32_t kIds = 20000;             // grows from 1024 slots several times
  const auto id = [](uint32_t k) { return "customer-" + std::to_string(k); };
  for (uint32_t k = 0; k < kIds; ++k) {
    const auto [value, added] = map.try_emplace(hash_id(id(k)), k * 3);
    ASSERT_TRUE(added) << k;
    EXPECT_EQ(*value, k * 3);
  }
  EXPECT_EQ(map.size(), kIds);
  for (uint32_t k = 0; k < kIds; ++k) {
    const uint32_t* v = map.find(hash_id(id(k)));
    ASSERT_NE(v, nullptr) << k;
    EXPECT_EQ(*v, k * 3) << k;
  }
  for (uint32_t k = kIds; k < 2 * kIds; ++k) EXPECT_FALSE(map.contains(hash_id(id(k)))) << k;
  // A second insert of an id keeps the first value and says so.
  const auto [value, added] = map.try_emplace(hash_id(id(7)), 99);
  EXPECT_FALSE(added);
  EXPECT_EQ(*value, 21u);
  EXPECT_EQ(map.size(), kIds);
  // for_each visits each entry once; values can be changed through find.
  *map.find(hash_id(id(5))) += 1;
  uint64_t sum = 0, n = 0;
  map.for_each([&](const HashedIdMap<uint32_t>::Entry& e) {
    sum += e.value;
    ++n;
  });
  EXPECT_EQ(n, kIds);
  EXPECT_EQ(sum, uint64_t{3} * kIds * (kIds - 1) / 2 + 1);
}

TEST(HashedIdMap, CollidingIdsProbeOnAndWrapAround) {
  // Ids that share h1 land in the same slot and probe on; h1 = 1023 is the last slot of the first table,
  // so its neighbours wrap to slot 0.
  HashedIdMap<int> map;
  const std::vector<HashedId> ids = {{1023, 1}, {1023, 2}, {2047, 3}, {0, 4}, {5, 5}, {5 + 1024, 6}};
  for (size_t k = 0; k < ids.size(); ++k) EXPECT_TRUE(map.try_emplace(ids[k], static_cast<int>(k)).second);
  for (size_t k = 0; k < ids.size(); ++k) {
    const int* v = map.find(ids[k]);
    ASSERT_NE(v, nullptr) << k;
    EXPECT_EQ(*v, static_cast<int>(k));
  }
  EXPECT_FALSE(map.contains({1023, 7}));
  EXPECT_FALSE(map.contains({5, 6}));
}

TEST(HashedIdMap, ReservedEntriesStayPut) {
  // After reserve(n), n inserts never move an entry: import_hm points into the complete customer index.
  HashedIdMap<int> map;
  map.reserve(5000);
  std::vector<const int*> where;
  for (int k = 0; k < 5000; ++k) where.push_back(map.try_emplace(hash_id(std::to_string(k)), k).first);
  for (int k = 0; k < 5000; ++k) EXPECT_EQ(map.find(hash_id(std::to_string(k))), where[static_cast<size_t>(k)]);
}

TEST(HashedIdMap, HashIdIsDeterministicAndNeverTheEmptyMarker) {
  const HashedId a = hash_id("00000dbacae5abe5e23885899a1fa44253a17956c6d1c3d25f88aa139fdfc657");
  EXPECT_EQ(a, hash_id("00000dbacae5abe5e23885899a1fa44253a17956c6d1c3d25f88aa139fdfc657"));
  EXPECT_NE(a, hash_id("00000dbacae5abe5e23885899a1fa44253a17956c6d1c3d25f88aa139fdfc658"));
  for (const std::string s : {"", "a", "12345678", "123456789"}) {
    const HashedId h = hash_id(s);
    EXPECT_FALSE(h.h1 == 0 && h.h2 == 0) << s;
  }
}

// ---- take_pairs -----------------------------------------------------------------------------------

TEST(TakePairs, WholeCustomersThenTheRemainder) {
  auto t = take_pairs({5, 2, 4, 9, 6}, 12, 3);  // 5 + (skip 2) + 4 = 9, then 3 of the 9
  EXPECT_TRUE(t.complete);
  EXPECT_EQ(t.kept, (std::vector<int64_t>{5, 0, 4, 3, 0}));
  t = take_pairs({5, 4, 3}, 9, 3);  // exact fit stops there
  EXPECT_EQ(t.kept, (std::vector<int64_t>{5, 4, 0}));
}

TEST(TakePairs, SmallRemainderIsTakenFromEarlierCustomers) {
  // 5 + 4 = 9, one pair short of 10: the next takes 3, the 4 gives up 1 (down to 3), the 5 gives up 1.
  const auto t = take_pairs({5, 4, 8}, 10, 3);
  EXPECT_TRUE(t.complete);
  EXPECT_EQ(t.kept, (std::vector<int64_t>{4, 3, 3}));
  EXPECT_EQ(t.kept[0] + t.kept[1] + t.kept[2], 10);
}

TEST(TakePairs, IncompleteAndImpossible) {
  const auto t = take_pairs({5, 1, 4}, 100, 3);
  EXPECT_FALSE(t.complete);
  EXPECT_EQ(t.kept, (std::vector<int64_t>{5, 0, 4}));
  // 3 + 3 = 6 leaves 1; nobody can give up a pair without going below 3.
  EXPECT_CONTAINS(error_message<Error>([] { take_pairs({3, 3, 5}, 7, 3); }), "cannot make exactly 7 pairs");
}

// ---- the fixture ----------------------------------------------------------------------------------

const Row& kArticleHeader = hm_kaggle::kArticleColumns;
const Row& kCustomerHeader = hm_kaggle::kCustomerColumns;
const Row& kTransactionHeader = hm_kaggle::kTransactionColumns;

std::string date_of_day(int64_t day) {  // day 0 = 2018-09-20, as in the Kaggle file
  int64_t z = day + 17794 + 719468;     // days since 1970-01-01, shifted to 0000-03-01 (Hinnant's algorithm)
  const int64_t era = z / 146097, doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9, y = yoe + era * 400 + (m <= 2);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lld", static_cast<long long>(y), static_cast<long long>(m),
                static_cast<long long>(d));
  return buf;
}

std::string hex64(std::mt19937_64& rng) {
  std::string s;
  for (int k = 0; k < 4; ++k) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
    s += buf;
  }
  return s;
}

// Minimal RFC 4180 writing, with detail_desc always quoted as a spreadsheet export would.
std::string csv_line(const Row& fields, int always_quote = -1) {
  std::string out;
  for (size_t k = 0; k < fields.size(); ++k) {
    const std::string& f = fields[k];
    if (k) out += ',';
    if (static_cast<int>(k) == always_quote || f.find_first_of(",\"\r\n") != std::string::npos) {
      out += '"';
      for (char c : f) out += c == '"' ? std::string("\"\"") : std::string(1, c);
      out += '"';
    } else {
      out += f;
    }
  }
  return out + "\n";
}

// `text` (a CSV without quoted fields) with the fields of its `line`-th line (1-based) edited by f.
std::string with_fields(const std::string& text, int line, const std::function<void(Row&)>& f) {
  std::istringstream in(text);
  std::string out, l;
  for (int n = 1; std::getline(in, l); ++n) {
    if (n == line) {
      Row fields;
      std::istringstream cells(l);
      for (std::string cell; std::getline(cells, cell, ',');) fields.push_back(cell);
      f(fields);
      l.clear();
      for (size_t k = 0; k < fields.size(); ++k) l += (k ? "," : "") + fields[k];
    }
    out += l + "\n";
  }
  return out;
}

struct Fixture {
  fs::path dir;
  std::vector<Row> articles, customers, transactions;  // fields, in file order
};

// A few hundred customers of five kinds: none, 1-2 purchases, one or two articles bought again and again
// (3+ rows but < 3 distinct), and shoppers with 3-15 articles, some bought again later at another price.
Fixture make_fixture(const fs::path& dir) {
  Fixture f;
  f.dir = dir;
  std::mt19937_64 rng(2024);
  const auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
  const std::vector<std::string> descs = {
      "Jersey top with narrow shoulder straps.",
      "Fitted top in ribbed jersey, with a \"V\" neck, lace trim, and a \"\" pair of quotes.",
      "Two lines:\nthe second, with a comma",
      "",
      "Cr\xC3\xAApe dress with a 5\" slit \xE2\x80\x93 lined",
      "Ends in a CRLF\r\nand goes on",
      "  spaces at both ends  "};
  for (int a = 0; a < 100; ++a) {
    char id[16];
    std::snprintf(id, sizeof id, "0%09d", 108775015 + a * 1013);
    const std::string type = pick({"Vest top", "Bra", "Trousers", "Sweater", "Dress"});
    f.articles.push_back({id,
                          std::string(id).substr(0, 7),
                          "Name, " + std::to_string(a),
                          std::to_string(250 + a % 7),
                          a % 13 == 0 ? "" : type,
                          pick({"Garment Upper body", "Underwear", "Garment Lower body"}),
                          "1010016",
                          pick({"Solid", "Stripe", "All over pattern"}),
                          "09",
                          a % 11 == 0 ? "" : pick({"Black", "White", "Light Beige"}),
                          "4",
                          pick({"Dark", "Light", "Dusty Light"}),
                          "5",
                          pick({"Black", "White", "Beige"}),
                          "1676",
                          pick({"Jersey Basic", "Clean Lingerie"}),
                          pick({"A", "B"}),
                          pick({"Ladieswear", "Lingeries/Tights"}),
                          "1",
                          pick({"Ladieswear", "Divided"}),
                          "16",
                          pick({"Womens Everyday Basics", "Womens Lingerie"}),
                          "1002",
                          pick({"Jersey Basic", "Under-, Nightwear"}),
                          descs[a % descs.size()]});
  }
  for (int c = 0; c < 400; ++c) {
    const bool blank = c % 9 == 0;
    f.customers.push_back({hex64(rng), blank ? "" : pick({"1.0", ""}), blank ? "" : pick({"1.0", ""}),
                           blank ? "" : pick({"ACTIVE", "PRE-CREATE", "LEFT CLUB"}),
                           blank ? "" : pick({"NONE", "Regularly", "Monthly", "None"}),
                           blank ? "" : (c % 2 ? std::to_string(18 + c % 60) + ".0" : std::to_string(18 + c % 61)),
                           hex64(rng)});
  }
  struct Tx {
    int64_t day;
    Row fields;
  };
  std::vector<Tx> tx;
  const auto buy = [&](int c, int a, int64_t day) {
    char price[32];
    std::snprintf(price, sizeof price, "%.16f", 0.001 + static_cast<double>(rng() % 500000) / 1e6);
    tx.push_back({day,
                  {date_of_day(day), f.customers[c][0], f.articles[a][0], rng() % 5 ? price : "0.05",
                   std::to_string(1 + rng() % 2)}});
  };
  for (int c = 0; c < 400; ++c) {
    const int kind = c % 10;
    if (kind == 0) continue;  // never bought anything
    if (kind <= 2) {          // 1-2 purchases
      for (int k = 0; k <= kind - 1; ++k) buy(c, static_cast<int>(rng() % 100), static_cast<int64_t>(rng() % 700));
    } else if (kind <= 4) {  // one or two articles, 6-12 rows
      const int a = static_cast<int>(rng() % 100), b = kind == 4 ? (a + 1) % 100 : a;
      const int n = 6 + static_cast<int>(rng() % 7);
      for (int k = 0; k < n; ++k) buy(c, k % 2 ? a : b, static_cast<int64_t>(rng() % 700));
    } else {  // 3-15 distinct articles; a third bought again, some on the same day
      const int n = 3 + static_cast<int>(rng() % 13);
      std::set<int> chosen;
      while (static_cast<int>(chosen.size()) < n) chosen.insert(static_cast<int>(rng() % 100));
      for (const int a : chosen) {
        const int64_t day = static_cast<int64_t>(rng() % 700);
        buy(c, a, day);
        if (rng() % 3 == 0) buy(c, a, day + static_cast<int64_t>(rng() % 30));
        if (rng() % 6 == 0) buy(c, a, day);
      }
    }
  }
  // Sorted by date like the Kaggle file; same-day rows in a shuffled order.
  std::shuffle(tx.begin(), tx.end(), rng);
  std::stable_sort(tx.begin(), tx.end(), [](const Tx& a, const Tx& b) { return a.day < b.day; });
  for (auto& t : tx) f.transactions.push_back(std::move(t.fields));

  std::string articles = csv_line(kArticleHeader), customers = csv_line(kCustomerHeader),
              transactions = csv_line(kTransactionHeader);
  for (const auto& r : f.articles) articles += csv_line(r, 24);
  for (const auto& r : f.customers) customers += csv_line(r);
  for (const auto& r : f.transactions) transactions += csv_line(r);
  fs::create_directories(dir);
  write(dir / "articles.csv", articles);
  write(dir / "customers.csv", customers);
  write(dir / "transactions_train.csv", transactions);
  return f;
}

// What the documented rule selects, computed here from the fixture independently of the importer's
// batching: customers with >= min rows shuffled by mt19937_64(seed) Fisher-Yates, then take_pairs over
// their distinct counts. Returns the first-purchase rows of the kept pairs.
struct Expected {
  std::map<std::pair<std::string, std::string>, Row> first;     // (customer, article) -> first purchase
  std::map<std::string, std::vector<std::string>> articles_of;  // customer -> distinct articles, by first purchase
  std::set<std::pair<std::string, std::string>> kept;
};

Expected expected_sample(const Fixture& f, uint64_t seed, int64_t pairs, int64_t min) {
  Expected e;
  std::map<std::string, int64_t> rows_of;
  for (const auto& t : f.transactions) {
    ++rows_of[t[1]];
    if (e.first.emplace(std::make_pair(t[1], t[2]), t).second) e.articles_of[t[1]].push_back(t[2]);
  }
  std::vector<std::string> order;
  for (const auto& c : f.customers)
    if (rows_of[c[0]] >= min) order.push_back(c[0]);
  std::mt19937_64 rng(seed);
  for (size_t k = order.size(); k > 1; --k) {
    const uint64_t n = k, threshold = (0 - n) % n;
    uint64_t r;
    do r = rng();
    while (r < threshold);
    std::swap(order[k - 1], order[r % n]);
  }
  std::vector<int64_t> distinct;
  for (const auto& c : order) distinct.push_back(static_cast<int64_t>(e.articles_of[c].size()));
  const auto take = take_pairs(distinct, pairs, min);
  EXPECT_TRUE(take.complete);
  for (size_t i = 0; i < order.size(); ++i)
    for (int64_t k = 0; k < take.kept[i]; ++k) e.kept.emplace(order[i], e.articles_of[order[i]][k]);
  return e;
}

using ftmamba_test::run_binary;

const char* kFiles[] = {"users.csv", "items.csv", "interactions.csv", "schema.toml", "dataset.json"};
constexpr int64_t kPairs = 600;
constexpr uint64_t kSeed = 7;

class HmImport : public ::testing::Test {
 protected:
  static fs::path root;
  static Fixture fx;
  static void SetUpTestSuite() {
    root = temp_dir("import");
    fx = make_fixture(root / "kaggle");
    import_to(root / "a", kSeed);
  }
  static void TearDownTestSuite() { fs::remove_all(root); }

  static ftmamba::data::HmImportSummary import_to(const fs::path& out, uint64_t seed, int64_t pairs = kPairs,
                                                  const fs::path& from = fs::path(), bool force = false) {
    HmImportOptions o;
    o.force = force;
    o.from = from.empty() ? root / "kaggle" : from;
    o.out = out;
    o.pairs = pairs;
    o.seed = seed;
    o.progress = false;
    return import_hm(o);
  }
  static std::string file(const fs::path& dir, const char* name) { return ftmamba::io::read_file(dir / name); }

  // A copy of the fixture with one file rewritten, for the error cases.
  static fs::path broken_copy(const std::string& tag, const std::string& name,
                              const std::function<std::string(const std::string&)>& edit) {
    const fs::path d = root / tag;
    fs::create_directories(d);
    for (const char* f : {"articles.csv", "customers.csv", "transactions_train.csv"})
      fs::copy_file(root / "kaggle" / f, d / f, fs::copy_options::overwrite_existing);
    write(d / name, edit(ftmamba::io::read_file(d / name)));
    return d;
  }
  static void expect_nothing_written(const fs::path& out) {
    EXPECT_FALSE(fs::exists(out)) << out;
    for (const auto& e : fs::directory_iterator(out.parent_path()))
      EXPECT_EQ(e.path().filename().string().find(".partial"), std::string::npos) << e.path();
  }
};
fs::path HmImport::root;
Fixture HmImport::fx;

TEST_F(HmImport, KeepsExactlyTheDocumentedSample) {
  const auto t = read_csv(root / "a" / "interactions.csv");
  EXPECT_EQ(t.header, kTransactionHeader);
  ASSERT_EQ(t.size(), kPairs);
  const Expected e = expected_sample(fx, kSeed, kPairs, 3);
  std::set<std::pair<std::string, std::string>> got;
  std::map<std::string, int64_t> per_customer;
  for (const auto& r : t.rows) {
    EXPECT_TRUE(got.emplace(r[1], r[2]).second) << "duplicate pair " << r[1] << " " << r[2];
    ++per_customer[r[1]];
  }
  EXPECT_EQ(got, e.kept);
  for (const auto& [c, n] : per_customer) EXPECT_GE(n, 3) << c;
  // Customers are whole except the last one taken (and, at most, two that gave up a pair to it).
  int partial = 0;
  for (const auto& [c, n] : per_customer) partial += n < static_cast<int64_t>(e.articles_of.at(c).size());
  EXPECT_LE(partial, 3);
  EXPECT_GE(per_customer.size(), 20u);
}

TEST_F(HmImport, RowsAreFirstPurchasesCopiedByteForByteInTimeOrder) {
  const auto t = read_csv(root / "a" / "interactions.csv");
  const Expected e = expected_sample(fx, kSeed, kPairs, 3);
  int repeated = 0;
  std::map<std::pair<std::string, std::string>, int> rows_of_pair;
  for (const auto& r : fx.transactions) ++rows_of_pair[{r[1], r[2]}];
  for (int64_t k = 0; k < t.size(); ++k) {
    const Row& r = t.rows[k];
    EXPECT_EQ(r, e.first.at({r[1], r[2]})) << "line " << t.line_of_row[k];
    repeated += rows_of_pair[{r[1], r[2]}] > 1;
    if (k > 0) {
      EXPECT_LE(t.rows[k - 1][0], r[0]);
    }
  }
  EXPECT_GE(repeated, 20);  // repeat purchases were there to collapse
  // Leading zeros and long prices survive as text.
  EXPECT_EQ(t.rows[0][2].size(), 10u);
  EXPECT_EQ(t.rows[0][2][0], '0');
  const std::string bytes = file(root / "a", "interactions.csv");
  for (const auto& r : t.rows) EXPECT_CONTAINS(bytes, r[0] + "," + r[1] + "," + r[2] + "," + r[3] + "," + r[4] + "\n");
}

TEST_F(HmImport, UsersAndItemsAreTheKeptRowsUnchanged) {
  const auto inter = read_csv(root / "a" / "interactions.csv");
  std::set<std::string> users, items;
  for (const auto& r : inter.rows) {
    users.insert(r[1]);
    items.insert(r[2]);
  }
  const auto u = read_csv(root / "a" / "users.csv");
  EXPECT_EQ(u.header, kCustomerHeader);
  std::vector<Row> want_users, want_items;
  for (const auto& r : fx.customers)
    if (users.count(r[0])) want_users.push_back(r);
  EXPECT_EQ(u.rows, want_users);  // same values, same order as customers.csv
  const auto i = read_csv(root / "a" / "items.csv");
  EXPECT_EQ(i.header, kArticleHeader);
  for (const auto& r : fx.articles)
    if (items.count(r[0])) want_items.push_back(r);
  EXPECT_EQ(i.rows, want_items);
  // The awkward descriptions made it through (quotes, newline, CRLF, spaces, blank).
  std::set<std::string> descs;
  for (const auto& r : i.rows) descs.insert(r[24]);
  EXPECT_TRUE(descs.count("Two lines:\nthe second, with a comma"));
  EXPECT_TRUE(descs.count("Ends in a CRLF\r\nand goes on"));
  EXPECT_TRUE(descs.count("  spaces at both ends  "));
  EXPECT_TRUE(descs.count(""));
  EXPECT_TRUE(descs.count("Fitted top in ribbed jersey, with a \"V\" neck, lace trim, and a \"\" pair of quotes."));
}

TEST_F(HmImport, SchemaAndDatasetJson) {
  const auto s = ftmamba::data::Schema::load(root / "a" / "schema.toml");
  EXPECT_EQ(s.users.id, "customer_id");
  EXPECT_EQ(s.users.numerical, (Row{"age"}));
  EXPECT_EQ(s.users.categorical, (Row{"FN", "Active", "club_member_status", "fashion_news_frequency", "postal_code"}));
  EXPECT_EQ(s.items.id, "article_id");
  EXPECT_TRUE(s.items.numerical.empty());
  EXPECT_EQ(s.items.categorical,
            (Row{"product_type_name", "product_group_name", "graphical_appearance_name", "colour_group_name",
                 "perceived_colour_value_name", "perceived_colour_master_name", "department_name", "index_name",
                 "index_group_name", "section_name", "garment_group_name"}));
  EXPECT_EQ(s.interactions.user, "customer_id");
  EXPECT_EQ(s.interactions.item, "article_id");
  EXPECT_EQ(s.interactions.timestamp, std::optional<std::string>("t_dat"));
  EXPECT_FALSE(s.interactions.weight);
  // Written by Schema::to_toml, as the synthetic hm preset writes it.
  ftmamba::data::Schema want;
  want.users = {"customer_id", s.users.numerical, s.users.categorical, {}, "|"};
  want.items = {"article_id", {}, s.items.categorical, {}, "|"};
  want.interactions.user = "customer_id";
  want.interactions.item = "article_id";
  want.interactions.timestamp = "t_dat";
  EXPECT_EQ(file(root / "a", "schema.toml"), want.to_toml());
  EXPECT_FALSE(fs::exists(root / "a" / "oracle.safetensors"));

  const auto j = nlohmann::json::parse(file(root / "a", "dataset.json"));
  const auto inter = read_csv(root / "a" / "interactions.csv");
  EXPECT_EQ(j["source"], "H&M Kaggle");
  EXPECT_EQ(j["pairs"], kPairs);
  EXPECT_EQ(j["seed"], kSeed);
  EXPECT_EQ(j["min_per_user"], 3);
  EXPECT_CONTAINS(j["sampling"].get<std::string>(), "at least 3 transactions");
  EXPECT_EQ(j["counts"]["interactions"], kPairs);
  EXPECT_EQ(j["counts"]["users"], read_csv(root / "a" / "users.csv").size());
  EXPECT_EQ(j["counts"]["items"], read_csv(root / "a" / "items.csv").size());
  EXPECT_EQ(j["date_range"]["first"], inter.rows.front()[0]);
  EXPECT_EQ(j["date_range"]["last"], inter.rows.back()[0]);
  EXPECT_EQ(j["source_date_range"]["first"], fx.transactions.front()[0]);
  EXPECT_EQ(j["source_date_range"]["last"], fx.transactions.back()[0]);
  EXPECT_EQ(j["source_counts"]["transactions"], fx.transactions.size());
  EXPECT_EQ(j["source_counts"]["customers"], fx.customers.size());
  const fs::path tx = fs::absolute(root / "kaggle" / "transactions_train.csv").lexically_normal();
  EXPECT_EQ(j["inputs"]["transactions"]["path"], tx.string());
  EXPECT_EQ(j["inputs"]["transactions"]["bytes"], fs::file_size(tx));
  EXPECT_EQ(j["inputs"]["articles"]["rows"], fx.articles.size());
}

TEST_F(HmImport, DeterministicForASeedAndDifferentAcrossSeeds) {
  import_to(root / "a2", kSeed);
  for (const char* f : kFiles) EXPECT_EQ(file(root / "a", f), file(root / "a2", f)) << f;
  import_to(root / "b", kSeed + 1);
  EXPECT_NE(file(root / "a", "interactions.csv"), file(root / "b", "interactions.csv"));
  EXPECT_NE(file(root / "a", "users.csv"), file(root / "b", "users.csv"));
  EXPECT_EQ(read_csv(root / "b" / "interactions.csv").size(), kPairs);
  // A dataset folder is replaced by a new import only with --force.
  EXPECT_CONTAINS(error_message<Error>([&] { import_to(root / "a2", kSeed + 1); }), "pass --force");
  import_to(root / "a2", kSeed + 1, kPairs, fs::path(), /*force=*/true);
  EXPECT_EQ(file(root / "b", "interactions.csv"), file(root / "a2", "interactions.csv"));
}

TEST_F(HmImport, SamplesMoreWhenTheFirstBatchFallsShort) {
  // Every distinct pair of every eligible customer: the first batch (1.5x the pairs in rows) cannot hold
  // them since a third of the customers repeat one or two articles, so later passes read more customers.
  const Expected all = expected_sample(fx, 3, 3, 3);
  int64_t total = 0, eligible_rows = 0;
  std::map<std::string, int64_t> rows_of;
  for (const auto& t : fx.transactions) ++rows_of[t[1]];
  for (const auto& [c, arts] : all.articles_of) {
    if (arts.size() >= 3) total += static_cast<int64_t>(arts.size());
    if (rows_of[c] >= 3) eligible_rows += rows_of[c];
  }
  ASSERT_GT(static_cast<double>(eligible_rows), 1.5 * static_cast<double>(total) + 48);
  const auto s = import_to(root / "all", 3, total);
  EXPECT_GE(s.transaction_passes, 3);
  EXPECT_EQ(read_csv(root / "all" / "interactions.csv").size(), total);
  EXPECT_EQ(expected_sample(fx, 3, total, 3).kept.size(), static_cast<size_t>(total));
  const std::string msg = error_message<Error>([&] { import_to(root / "toomany", 3, total + 1); });
  EXPECT_CONTAINS(msg, "only " + std::to_string(total) + " distinct (customer, article) pairs");
  EXPECT_CONTAINS(msg, "--pairs asks for " + std::to_string(total + 1));
  expect_nothing_written(root / "toomany");
}

TEST_F(HmImport, DatasetLoads) {
  const auto d = ftmamba::data::Dataset::load(root / "a");
  EXPECT_EQ(d.interactions.size(), kPairs);
  EXPECT_EQ(d.users.size(), read_csv(root / "a" / "users.csv").size());
  EXPECT_EQ(d.users.n_num(), 1);
  EXPECT_EQ(d.items.n_cat(), 11);
  // t_dat became Unix seconds: 2018-09-20 is 17794 days after 1970-01-01.
  const auto inter = read_csv(root / "a" / "interactions.csv");
  for (int64_t k = 0; k < inter.size(); k += 97) {
    int64_t day = 0;
    while (date_of_day(day) != inter.rows[k][0]) ++day;
    EXPECT_DOUBLE_EQ(d.interactions.timestamp[k], static_cast<double>((17794 + day) * 86400)) << inter.rows[k][0];
  }
}

TEST_F(HmImport, BinaryWritesTheSameFolder) {
  const fs::path out = root / "bin";
  const auto r = run_binary("import hm --from " + (root / "kaggle").string() + " --pairs " + std::to_string(kPairs) +
                            " --seed " + std::to_string(kSeed) + " --out " + out.string());
  ASSERT_EQ(r.code, 0) << r.out;
  // No progress when stderr is not a terminal: one summary line.
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  EXPECT_CONTAINS(r.out, "600 pairs");
  for (const char* f : kFiles) EXPECT_EQ(file(root / "a", f), file(out, f)) << f;
  const auto help = run_binary("import hm --help");
  EXPECT_EQ(help.code, 0);
  EXPECT_CONTAINS(help.out, "--min-per-user");
  EXPECT_CONTAINS(help.out, "random order");
}

TEST_F(HmImport, BadInputNamesFileLineColumnAndLeavesNothing) {
  // An unknown article on the 40th data row (line 41).
  const fs::path unknown = broken_copy("unknown_article", "transactions_train.csv", [](const std::string& s) {
    return with_fields(s, 41, [](Row& f) { f[2] = "0999999999"; });
  });
  const std::string tx = (unknown / "transactions_train.csv").string();
  EXPECT_EQ(error_message<DataError>([&] { import_to(root / "out1", kSeed, kPairs, unknown); }),
            tx + ":41:article_id: unknown article_id '0999999999' (not in articles.csv)");
  expect_nothing_written(root / "out1");
  const auto r = run_binary("import hm --from " + unknown.string() + " --out " + (root / "out1").string());
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "ftmamba: error: " + tx + ":41:article_id: unknown article_id '0999999999' (not in articles.csv)\n");
  expect_nothing_written(root / "out1");

  const fs::path no_age = broken_copy("no_age", "customers.csv", [](const std::string& s) {
    return with_fields(s, 1, [](Row& f) { f[5] = "years"; });
  });
  EXPECT_CONTAINS(error_message<DataError>([&] { import_to(root / "out2", kSeed, kPairs, no_age); }),
                  (no_age / "customers.csv").string() + ":1: missing column 'age'");
  expect_nothing_written(root / "out2");

  const fs::path missing = broken_copy("missing", "articles.csv", [](const std::string& s) { return s; });
  fs::remove(missing / "customers.csv");
  EXPECT_EQ(error_message<DataError>([&] { import_to(root / "out3", kSeed, kPairs, missing); }),
            (missing / "customers.csv").string() + ": file not found");
  expect_nothing_written(root / "out3");

  const fs::path ragged = broken_copy("ragged", "transactions_train.csv", [](const std::string& s) {
    return with_fields(s, 10, [](Row& f) { f.pop_back(); });
  });
  EXPECT_CONTAINS(error_message<DataError>([&] { import_to(root / "out4", kSeed, kPairs, ragged); }),
                  (ragged / "transactions_train.csv").string() + ":10:sales_channel_id: row has 4 fields");
  expect_nothing_written(root / "out4");

  const fs::path bad_date = broken_copy("bad_date", "transactions_train.csv", [](const std::string& s) {
    return with_fields(s, 2, [](Row& f) { f[0] = "2019-02-29"; });
  });
  EXPECT_CONTAINS(error_message<DataError>([&] { import_to(root / "out5", kSeed, kPairs, bad_date); }),
                  (bad_date / "transactions_train.csv").string() + ":2:t_dat: not a date YYYY-MM-DD: '2019-02-29'");

  const std::string few = error_message<Error>([&] { import_to(root / "out6", kSeed, 1000000); });
  EXPECT_CONTAINS(few, "--pairs asks for 1000000");
  expect_nothing_written(root / "out6");
}

TEST_F(HmImport, RefusesToReplaceAFolderThatIsNotADataset) {
  const fs::path out = root / "precious";
  fs::create_directories(out);
  write(out / "notes.txt", "keep me");
  EXPECT_CONTAINS(error_message<Error>([&] { import_to(out, kSeed, kPairs, fs::path(), /*force=*/true); }),
                  "does not hold an ftmamba dataset");
  EXPECT_EQ(ftmamba::io::read_file(out / "notes.txt"), "keep me");
}

}  // namespace
