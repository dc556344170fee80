// defines: the reads of `import hm` (read_articles, read_customers, count_transactions, collect_pass) and
// the progress each shows: bytes of the file, on a terminal or every 10 s in a log.
#include "ftmamba/data/loaders/hm_reads.h"

#include <limits>
#include <optional>

#include "ftmamba/core/error.h"
#include "ftmamba/core/progress.h"
#include "ftmamba/data/csv.h"
#include "ftmamba/data/loaders/hm_layout.h"
#include "ftmamba/data/timestamp.h"

namespace ftmamba::data::hm_kaggle {
namespace {

namespace fs = std::filesystem;

ProgressBar read_bar(const std::string& label, const CsvStream& in, bool enabled) {
  return ProgressBar(label, static_cast<int64_t>(in.file_size()), enabled, ProgressBar::Output::kTerminalOrLog);
}

// Called on every row; the clock is read once per 65,536 rows.
void show(ProgressBar& bar, const CsvStream& in) {
  if ((in.rows() & 0xFFFF) == 0) bar.update_bytes(static_cast<int64_t>(in.file_bytes_read()), in.rows());
}

// Sizes an index for the whole file once the first rows tell how long a row is, so it does not grow on
// the way (~1.4 M customers).
template <class Map>
void reserve_for_file(Map& map, const CsvStream& in) {
  if (in.rows() == 256) map.reserve(static_cast<size_t>(1.05 * static_cast<double>(in.estimated_rows())));
}

// A Kaggle t_dat: exactly YYYY-MM-DD, and a real calendar day by the rules the dataset loader reads it with.
bool is_date(const std::string& s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (const int k : {0, 1, 2, 3, 5, 6, 8, 9})
    if (s[k] < '0' || s[k] > '9') return false;
  return parse_timestamp(s).has_value();
}

void check_number(const CsvStream& in, const std::vector<std::string>& row, int col) {
  std::optional<double> v;
  std::string why;
  if (!try_parse_number(row[col], v, why)) in.fail(col, why);
}

}  // namespace

std::vector<int> required_columns(const CsvStream& in, const std::vector<std::string>& names) {
  std::vector<int> cols;
  for (const auto& n : names) cols.push_back(in.column(n));
  return cols;
}

Articles read_articles(const fs::path& path, bool progress) {
  CsvStream in(path);
  const int id = in.column("article_id");
  Articles a;
  ProgressBar bar = read_bar("reading " + std::string(kArticlesFile), in, progress);
  std::vector<std::string> row;
  while (in.next(row)) {
    show(bar, in);
    if (row[id].empty()) in.fail(id, "missing article_id");
    const auto [first, fresh] = a.row.try_emplace(hash_id(row[id]), static_cast<uint32_t>(a.line.size()));
    if (!fresh) {
      in.fail(id, "duplicate article_id " + quote_for_message(row[id]) + " (first on line " +
                      std::to_string(a.line[*first]) + ")");
    }
    a.line.push_back(in.line());
    reserve_for_file(a.row, in);
  }
  if (a.line.empty()) throw DataError(in.path(), 1, "", "no articles (the file has only a header)");
  return a;
}

Customers read_customers(const fs::path& path, bool progress) {
  CsvStream in(path);
  const int id = in.column("customer_id");
  const int age = in.column("age");
  Customers customers;
  ProgressBar bar = read_bar("reading " + std::string(kCustomersFile), in, progress);
  std::vector<std::string> row;
  while (in.next(row)) {
    show(bar, in);
    if (row[id].empty()) in.fail(id, "missing customer_id");
    if (!customers.try_emplace(hash_id(row[id]), Customer{static_cast<uint32_t>(in.rows() - 1), 0}).second)
      in.fail(id, "duplicate customer_id " + quote_for_message(row[id]));
    check_number(in, row, age);
    reserve_for_file(customers, in);
  }
  if (customers.empty()) throw DataError(in.path(), 1, "", "no customers (the file has only a header)");
  return customers;
}

TransactionCounts count_transactions(const fs::path& path, Customers& customers, const Articles& articles,
                                     bool progress) {
  CsvStream in(path);
  const std::vector<int> c = required_columns(in, kTransactionColumns);
  const int c_dat = c[0], c_customer = c[1], c_article = c[2], c_price = c[3];
  TransactionCounts t;
  ProgressBar bar = read_bar("pass 1 " + std::string(kTransactionsFile), in, progress);
  std::vector<std::string> row;
  while (in.next(row)) {
    show(bar, in);
    const std::string& date = row[c_dat];
    if (!is_date(date)) in.fail(c_dat, "not a date YYYY-MM-DD: " + quote_for_message(date));
    Customer* cust = customers.find(hash_id(row[c_customer]));
    if (cust == nullptr) {
      in.fail(c_customer, (row[c_customer].empty() ? std::string("missing customer_id")
                                                   : "unknown customer_id " + quote_for_message(row[c_customer])) +
                              " (not in " + kCustomersFile + ")");
    }
    if (!articles.row.contains(hash_id(row[c_article]))) {
      in.fail(c_article, (row[c_article].empty() ? std::string("missing article_id")
                                                 : "unknown article_id " + quote_for_message(row[c_article])) +
                             " (not in " + kArticlesFile + ")");
    }
    check_number(in, row, c_price);
    uint32_t& count = cust->transactions;
    if (count != std::numeric_limits<uint32_t>::max()) ++count;
    if (t.first_date.empty() || date < t.first_date) t.first_date = date;
    if (t.last_date.empty() || date > t.last_date) t.last_date = date;
  }
  t.rows = in.rows();
  if (t.rows == 0) throw DataError(in.path(), 1, "", "no transactions (the file has only a header)");
  return t;
}

void collect_pass(const fs::path& path, const Articles& articles, const HashedIdMap<uint32_t>& wanted, Collected& out,
                  bool progress, int64_t pass) {
  CsvStream in(path);
  const std::vector<int> c = required_columns(in, kTransactionColumns);
  const int c_customer = c[1], c_article = c[2];
  ProgressBar bar = read_bar("pass " + std::to_string(pass) + " " + kTransactionsFile, in, progress);
  std::vector<std::string> row, fields(kTransactionColumns.size());
  while (in.next(row)) {
    show(bar, in);
    const uint32_t* cand = wanted.find(hash_id(row[c_customer]));
    if (cand == nullptr) continue;
    const uint32_t* art = articles.row.find(hash_id(row[c_article]));
    // The file was checked in pass 1; a row that no longer matches means it changed since.
    if (art == nullptr) in.fail(c_article, "unknown article_id (the file changed during the import)");
    for (size_t k = 0; k < c.size(); ++k) fields[k] = row[c[k]];
    const std::string text = format_csv_row(fields);
    const uint32_t slot = *cand, article = *art;
    Collected::Pair p{slot, article, in.line(), out.text.size(), static_cast<uint32_t>(text.size())};
    out.text += text;
    const uint64_t key = static_cast<uint64_t>(slot) << 32 | article;
    const auto [it, fresh] = out.by_key.emplace(key, static_cast<uint32_t>(out.pairs.size()));
    if (fresh) {
      out.pairs.push_back(p);
    } else if (out.before(p, out.pairs[it->second])) {
      out.pairs[it->second] = p;  // an earlier date further down an unsorted file
    } else {
      out.text.resize(p.offset);  // a repeat purchase: not kept
    }
  }
}

}  // namespace ftmamba::data::hm_kaggle
