// defines: the reads of `import hm`: articles.csv and customers.csv into hashed-id indexes, pass 1 over
// transactions_train.csv (every row checked, rows counted per customer) and the collecting passes (the
// distinct pairs of the sampled customers, each with its first purchase).
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ftmamba/data/csv_stream.h"
#include "ftmamba/data/loaders/hashed_id.h"

namespace ftmamba::data::hm_kaggle {

// The indexes of the columns `names`; throws DataError "PATH:1: missing column 'X' ..." for the first absent.
std::vector<int> required_columns(const CsvStream& in, const std::vector<std::string>& names);

struct Articles {
  HashedIdMap<uint32_t> row;  // article_id -> row in articles.csv
  std::vector<int64_t> line;  // (articles) line in articles.csv, for messages
};
Articles read_articles(const std::filesystem::path& path, bool progress);

struct Customer {
  uint32_t row = 0;           // in customers.csv
  uint32_t transactions = 0;  // rows in transactions_train.csv (pass 1), saturating
};
using Customers = HashedIdMap<Customer>;  // customer_id -> its row and transaction count
Customers read_customers(const std::filesystem::path& path, bool progress);

// Pass 1: every row checked (date, known customer and article, price), rows counted per customer.
struct TransactionCounts {
  int64_t rows = 0;
  std::string first_date, last_date;
};
TransactionCounts count_transactions(const std::filesystem::path& path, Customers& customers, const Articles& articles,
                                     bool progress);

// The distinct pairs of the sampled customers: each (customer, article) once, holding its first
// purchase (earliest t_dat, then earliest line). The output rows are kept as CSV text in one buffer.
struct Collected {
  struct Pair {
    uint32_t candidate;  // position in the sampled order
    uint32_t article;    // row in articles.csv
    int64_t line;        // line in transactions_train.csv
    uint64_t offset;     // of the row's CSV text in `text`; it starts with the 10-byte t_dat
    uint32_t length;
  };
  std::vector<Pair> pairs;
  std::unordered_map<uint64_t, uint32_t> by_key;  // candidate << 32 | article -> index into pairs
  std::string text;

  std::string_view date(const Pair& p) const { return std::string_view(text).substr(p.offset, 10); }
  std::string_view row(const Pair& p) const { return std::string_view(text).substr(p.offset, p.length); }
  // Earlier purchase first: by date, then by file position.
  bool before(const Pair& a, const Pair& b) const {
    const auto da = date(a), db = date(b);
    return da != db ? da < db : a.line < b.line;
  }
};

// One pass collecting the rows of the candidates in `wanted` (hashed customer id -> position in the
// sampled order; small, so the ~99% of rows that are skipped cost a hash and one cached probe).
void collect_pass(const std::filesystem::path& path, const Articles& articles, const HashedIdMap<uint32_t>& wanted,
                  Collected& out, bool progress, int64_t pass);

}  // namespace ftmamba::data::hm_kaggle
