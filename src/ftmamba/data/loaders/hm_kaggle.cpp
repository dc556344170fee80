// defines: import_hm and take_pairs. articles.csv and customers.csv are read into id indexes (a 128-bit
// hash per customer, not the 64-character id); transactions_train.csv is streamed: pass 1 validates every
// row and counts rows per customer, later passes keep only the rows of the customers sampled so far.
#include "ftmamba/data/loaders/hm_kaggle.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string_view>
#include <unordered_map>

#include "ftmamba/core/error.h"
#include "ftmamba/core/progress.h"
#include "ftmamba/data/csv.h"
#include "ftmamba/data/csv_stream.h"
#include "ftmamba/data/schema.h"
#include "ftmamba/data/timestamp.h"
#include "ftmamba/io/atomic_file.h"

namespace ftmamba::data {
namespace {

namespace fs = std::filesystem;

constexpr const char* kArticlesFile = "articles.csv";
constexpr const char* kCustomersFile = "customers.csv";
constexpr const char* kTransactionsFile = "transactions_train.csv";

// The columns the dataset uses; any other column of articles.csv / customers.csv is copied as it is.
const std::vector<std::string> kUserNumerical = {"age"};
const std::vector<std::string> kUserCategorical = {"FN", "Active", "club_member_status", "fashion_news_frequency",
                                                   "postal_code"};
const std::vector<std::string> kItemCategorical = {"product_type_name",
                                                   "product_group_name",
                                                   "graphical_appearance_name",
                                                   "colour_group_name",
                                                   "perceived_colour_value_name",
                                                   "perceived_colour_master_name",
                                                   "department_name",
                                                   "index_name",
                                                   "index_group_name",
                                                   "section_name",
                                                   "garment_group_name"};
// Checked before the long reads start, with the rest: the id, then the features.
const std::vector<std::string> kArticleColumns = [] {
  std::vector<std::string> v{"article_id"};
  v.insert(v.end(), kItemCategorical.begin(), kItemCategorical.end());
  return v;
}();
const std::vector<std::string> kCustomerColumns = [] {
  std::vector<std::string> v{"customer_id"};
  v.insert(v.end(), kUserNumerical.begin(), kUserNumerical.end());
  v.insert(v.end(), kUserCategorical.begin(), kUserCategorical.end());
  return v;
}();
const std::vector<std::string> kTransactionColumns = {"t_dat", "customer_id", "article_id", "price",
                                                      "sales_channel_id"};

Schema hm_schema() {
  Schema s;
  s.users = {"customer_id", kUserNumerical, kUserCategorical};
  s.items = {"article_id", {}, kItemCategorical};
  s.interactions.user = "customer_id";
  s.interactions.item = "article_id";
  s.interactions.timestamp = "t_dat";
  return s;
}

// An id as two independent 64-bit hashes (MurmurHash64A, and a word-wise xor-multiply-rotate with a
// SplitMix64 finish). Together they tell ~1.4 M ids apart with a collision chance near 2^-88, so the
// 64-character customer ids never have to be kept.
struct IdHash {
  uint64_t h1, h2;
};

IdHash hash_id(std::string_view s) {
  constexpr uint64_t m = 0xc6a4a7935bd1e995ULL;
  uint64_t h1 = 0x9e3779b97f4a7c15ULL ^ (s.size() * m), h2 = 0x243f6a8885a308d3ULL ^ s.size();
  const auto word = [&](uint64_t k) {
    uint64_t a = k * m;
    a ^= a >> 47;
    h1 = (h1 ^ (a * m)) * m;
    h2 = (h2 ^ (k * 0x9fb21c651e98df25ULL));
    h2 = ((h2 << 29) | (h2 >> 35)) * 0xc2b2ae3d27d4eb4fULL;
  };
  const char* p = s.data();
  size_t n = s.size();
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t k;
    std::memcpy(&k, p, 8);
    word(k);
  }
  if (n > 0) {
    uint64_t k = 0;
    std::memcpy(&k, p, n);
    word(k);
  }
  h1 ^= h1 >> 47;
  h1 *= m;
  h1 ^= h1 >> 47;
  h2 = (h2 ^ (h2 >> 30)) * 0xbf58476d1ce4e5b9ULL;
  h2 = (h2 ^ (h2 >> 27)) * 0x94d049bb133111ebULL;
  return {h1, h2 ^ (h2 >> 31)};
}

// Hashed id -> dense index (the id's row in its file), with a per-id counter. Open addressing with
// linear probing; one 24-byte slot holds everything a lookup needs, so a lookup costs one cache miss.
// About 37 bytes per id at the load factor it keeps (<= 0.7), against ~100 for a string key and node.
class IdIndex {
 public:
  struct Slot {
    uint64_t h1 = 0, h2 = 0;
    uint32_t index_plus1 = 0;  // 0 = empty
    uint32_t count = 0;        // free for the caller (transactions per customer)
    int64_t index() const { return static_cast<int64_t>(index_plus1) - 1; }
  };

  int64_t size() const { return size_; }

  const Slot* find(const IdHash& h) const { return const_cast<IdIndex*>(this)->find(h); }
  Slot* find(const IdHash& h) {
    if (slots_.empty()) return nullptr;
    for (size_t s = h.h1 & mask_;; s = (s + 1) & mask_) {
      Slot& slot = slots_[s];
      if (slot.index_plus1 == 0) return nullptr;
      if (slot.h1 == h.h1 && slot.h2 == h.h2) return &slot;
    }
  }

  // Adds an id with the given index; returns the existing slot instead when the id is already there.
  std::pair<Slot*, bool> insert(const IdHash& h, int64_t index) {
    if (static_cast<uint64_t>(size_ + 1) * 10 > slots_.size() * 7) grow();
    size_t s = h.h1 & mask_;
    for (; slots_[s].index_plus1 != 0; s = (s + 1) & mask_)
      if (slots_[s].h1 == h.h1 && slots_[s].h2 == h.h2) return {&slots_[s], false};
    slots_[s] = Slot{h.h1, h.h2, static_cast<uint32_t>(index + 1), 0};
    ++size_;
    return {&slots_[s], true};
  }

  // Slots stay where they are once the index is complete: a position names an id.
  size_t capacity() const { return slots_.size(); }
  const Slot& at(size_t pos) const { return slots_[pos]; }

 private:
  void grow() {
    std::vector<Slot> old(slots_.empty() ? size_t{1} << 10 : slots_.size() * 2);
    old.swap(slots_);
    mask_ = slots_.size() - 1;
    for (const Slot& o : old) {
      if (o.index_plus1 == 0) continue;
      size_t t = o.h1 & mask_;
      while (slots_[t].index_plus1 != 0) t = (t + 1) & mask_;
      slots_[t] = o;
    }
  }

  std::vector<Slot> slots_;  // (capacity, a power of two)
  size_t mask_ = 0;
  int64_t size_ = 0;
};

// Progress of one read of a file: bytes read of the file size, rows per second and an ETA. On a terminal
// it is one line redrawn in place; otherwise (a log, `make`) a plain line every 10 seconds, so a long
// import still shows it is moving.
class ReadProgress {
 public:
  ReadProgress(std::string label, const CsvStream& in, bool enabled)
      : label_(std::move(label)),
        in_(in),
        enabled_(enabled),
        terminal_(ProgressBar::stderr_is_terminal()),
        start_(std::chrono::steady_clock::now()),
        last_(start_) {}
  ~ReadProgress() { finish(); }

  void tick() {
    if (!enabled_ || (in_.rows() & 0xFFFF) != 0) return;  // the clock is read once per 65,536 rows
    const auto now = std::chrono::steady_clock::now();
    const auto interval = terminal_ ? std::chrono::milliseconds(200) : std::chrono::milliseconds(10000);
    if ((open_ || !terminal_) && now - last_ < interval) return;
    last_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double done = static_cast<double>(in_.bytes_read()), total = static_cast<double>(in_.file_size());
    const double frac = total > 0 ? std::min(1.0, done / total) : 0.0;
    const double eta = frac > 0 ? elapsed * (1 - frac) / frac : 0.0;
    const double rows_per_sec = elapsed > 0 ? static_cast<double>(in_.rows()) / elapsed / 1e6 : 0.0;
    if (!terminal_) {
      std::fprintf(stderr, "%s: %3.0f%%  %.0f / %.0f MB  %.2f M rows/s  ETA %s\n", label_.c_str(), 100 * frac,
                   done / 1e6, total / 1e6, rows_per_sec, format_duration(eta).c_str());
      std::fflush(stderr);
      return;
    }
    open_ = true;
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(kWidth * frac);
    std::string bar(filled, '=');
    if (filled < kWidth) bar += '>' + std::string(kWidth - filled - 1, ' ');
    std::fprintf(stderr, "\r%s [%s] %3.0f%%  %.0f / %.0f MB  %.2f M rows/s  ETA %s\x1b[K", label_.c_str(), bar.c_str(),
                 100 * frac, done / 1e6, total / 1e6, rows_per_sec, format_duration(eta).c_str());
    std::fflush(stderr);
  }

  void finish() {
    if (open_) {
      std::fprintf(stderr, "\r\x1b[K");
      std::fflush(stderr);
    }
    open_ = false;
  }

 private:
  std::string label_;
  const CsvStream& in_;
  bool enabled_, terminal_, open_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

std::vector<int> required_columns(const CsvStream& in, const std::vector<std::string>& names) {
  std::vector<int> cols;
  for (const auto& n : names) cols.push_back(in.column(n));
  return cols;
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

// Uniform in [0, n) from a 64-bit generator, without modulo bias; the same on every platform.
uint64_t uniform_below(std::mt19937_64& rng, uint64_t n) {
  const uint64_t threshold = (0 - n) % n;
  for (;;) {
    const uint64_t r = rng();
    if (r >= threshold) return r % n;
  }
}

struct Articles {
  IdIndex index;              // article_id -> row
  std::vector<int64_t> line;  // (articles) line in articles.csv, for messages
};

Articles read_articles(const fs::path& path, bool progress) {
  CsvStream in(path);
  const int id = in.column("article_id");
  Articles a;
  ReadProgress bar("reading " + std::string(kArticlesFile), in, progress);
  std::vector<std::string> row;
  while (in.next(row)) {
    bar.tick();
    if (row[id].empty()) in.fail(id, "missing article_id");
    const auto [slot, fresh] = a.index.insert(hash_id(row[id]), static_cast<int64_t>(a.line.size()));
    if (!fresh) {
      in.fail(id, "duplicate article_id " + quote_for_message(row[id]) + " (first on line " +
                      std::to_string(a.line[static_cast<size_t>(slot->index())]) + ")");
    }
    a.line.push_back(in.line());
  }
  if (a.line.empty()) throw DataError(in.path(), 1, "", "no articles (the file has only a header)");
  return a;
}

// customers.csv: every id, counted by transaction rows later (IdIndex::Slot::count).
IdIndex read_customers(const fs::path& path, bool progress) {
  CsvStream in(path);
  const int id = in.column("customer_id");
  const int age = in.column("age");
  IdIndex index;
  ReadProgress bar("reading " + std::string(kCustomersFile), in, progress);
  std::vector<std::string> row;
  while (in.next(row)) {
    bar.tick();
    if (row[id].empty()) in.fail(id, "missing customer_id");
    if (!index.insert(hash_id(row[id]), in.rows() - 1).second)
      in.fail(id, "duplicate customer_id " + quote_for_message(row[id]));
    check_number(in, row, age);
  }
  if (index.size() == 0) throw DataError(in.path(), 1, "", "no customers (the file has only a header)");
  return index;
}

// Pass 1 over the transactions: every row checked, rows counted per customer (in the index's slots).
struct TransactionCounts {
  int64_t rows = 0;
  std::string first_date, last_date;
};

TransactionCounts count_transactions(const fs::path& path, IdIndex& customers, const Articles& articles,
                                     bool progress) {
  CsvStream in(path);
  const std::vector<int> c = required_columns(in, kTransactionColumns);
  const int c_dat = c[0], c_customer = c[1], c_article = c[2], c_price = c[3];
  TransactionCounts t;
  ReadProgress bar("pass 1 " + std::string(kTransactionsFile), in, progress);
  std::vector<std::string> row;
  while (in.next(row)) {
    bar.tick();
    const std::string& date = row[c_dat];
    if (!is_date(date)) in.fail(c_dat, "not a date YYYY-MM-DD: " + quote_for_message(date));
    IdIndex::Slot* cust = customers.find(hash_id(row[c_customer]));
    if (cust == nullptr) {
      in.fail(c_customer, (row[c_customer].empty() ? std::string("missing customer_id")
                                                   : "unknown customer_id " + quote_for_message(row[c_customer])) +
                              " (not in " + kCustomersFile + ")");
    }
    if (articles.index.find(hash_id(row[c_article])) == nullptr) {
      in.fail(c_article, (row[c_article].empty() ? std::string("missing article_id")
                                                 : "unknown article_id " + quote_for_message(row[c_article])) +
                             " (not in " + kArticlesFile + ")");
    }
    check_number(in, row, c_price);
    if (cust->count != std::numeric_limits<uint32_t>::max()) ++cust->count;
    if (t.first_date.empty() || date < t.first_date) t.first_date = date;
    if (t.last_date.empty() || date > t.last_date) t.last_date = date;
  }
  t.rows = in.rows();
  if (t.rows == 0) throw DataError(in.path(), 1, "", "no transactions (the file has only a header)");
  return t;
}

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
void collect_pass(const fs::path& path, const Articles& articles, const IdIndex& wanted, Collected& out, bool progress,
                  int64_t pass) {
  CsvStream in(path);
  const std::vector<int> c = required_columns(in, kTransactionColumns);
  const int c_customer = c[1], c_article = c[2];
  ReadProgress bar("pass " + std::to_string(pass) + " " + kTransactionsFile, in, progress);
  std::vector<std::string> row, fields(kTransactionColumns.size());
  while (in.next(row)) {
    bar.tick();
    const IdIndex::Slot* cand = wanted.find(hash_id(row[c_customer]));
    if (cand == nullptr) continue;
    const IdIndex::Slot* art = articles.index.find(hash_id(row[c_article]));
    // The file was checked in pass 1; a row that no longer matches means it changed since.
    if (art == nullptr) in.fail(c_article, "unknown article_id (the file changed during the import)");
    for (size_t k = 0; k < c.size(); ++k) fields[k] = row[c[k]];
    const std::string text = format_csv_row(fields);
    const auto slot = static_cast<uint32_t>(cand->index()), article = static_cast<uint32_t>(art->index());
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

// Writes a CSV file through a 1 MiB buffer, so no output file is ever held whole in memory. Used inside
// the staging folder, which is what makes the result all-or-nothing.
class CsvFileWriter {
 public:
  explicit CsvFileWriter(fs::path path) : path_(std::move(path)), file_(std::fopen(path_.c_str(), "wb")) {
    if (file_ == nullptr) throw Error(path_.string() + ": cannot write: " + std::strerror(errno));
    std::setvbuf(file_, nullptr, _IOFBF, size_t{1} << 20);
  }
  ~CsvFileWriter() {
    if (file_ != nullptr) std::fclose(file_);
  }
  CsvFileWriter(const CsvFileWriter&) = delete;
  CsvFileWriter& operator=(const CsvFileWriter&) = delete;

  void write(std::string_view bytes) {
    if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) fail();
  }
  void close() {
    const bool ok = std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
    const int err = errno;
    std::fclose(file_);
    file_ = nullptr;
    if (!ok) throw Error(path_.string() + ": write failed: " + std::strerror(err));
  }

 private:
  [[noreturn]] void fail() const { throw Error(path_.string() + ": write failed: " + std::strerror(errno)); }
  fs::path path_;
  std::FILE* file_;
};

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (size_t k = 0; k < v.size(); ++k) out += (k ? ", " : "") + v[k];
  return out;
}

}  // namespace

std::string hm_sampling_method(int64_t min_per_user) {
  const std::string m = std::to_string(min_per_user);
  return "Customers with at least " + m +
         " transactions are put in a random order (mt19937_64 seeded with --seed, Fisher-Yates). In that "
         "order, each customer's repeated purchases of an article collapse to the first (earliest t_dat, then "
         "file order); customers left with fewer than " +
         m +
         " distinct articles are skipped; whole customers are kept until their pairs reach --pairs. The last "
         "customer keeps only their earliest pairs; if fewer than " +
         m + " would remain, they keep " + m +
         " and the customers before them, latest first, give up their latest pairs (none going below " + m +
         "). Users are the kept customers, items the articles of the kept pairs.";
}

PairTake take_pairs(const std::vector<int64_t>& distinct, int64_t pairs, int64_t min_per_user) {
  PairTake t;
  t.kept.assign(distinct.size(), 0);
  int64_t total = 0;
  for (size_t i = 0; i < distinct.size() && total < pairs; ++i) {
    const int64_t d = distinct[i];
    if (d < min_per_user) continue;
    const int64_t room = pairs - total;
    if (d <= room || room >= min_per_user) {
      t.kept[i] = std::min(d, room);
      total += t.kept[i];
      continue;
    }
    // 0 < room < min_per_user: this customer takes min_per_user, earlier ones give up the excess.
    int64_t excess = min_per_user - room, spare = 0;
    for (size_t j = 0; j < i; ++j)
      if (t.kept[j] > 0) spare += t.kept[j] - min_per_user;
    if (spare < excess) {
      throw Error("cannot make exactly " + std::to_string(pairs) + " pairs with at least " +
                  std::to_string(min_per_user) + " per customer from these customers; try another --pairs");
    }
    for (size_t j = i; j-- > 0 && excess > 0;) {
      if (t.kept[j] == 0) continue;
      const int64_t give = std::min(excess, t.kept[j] - min_per_user);
      t.kept[j] -= give;
      excess -= give;
    }
    t.kept[i] = min_per_user;
    total = pairs;
  }
  t.complete = total == pairs;
  return t;
}

HmImportSummary import_hm(const HmImportOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  if (o.min_per_user < 1) throw Error("--min-per-user must be at least 1");
  if (o.pairs < o.min_per_user) {
    throw Error("--pairs (" + std::to_string(o.pairs) + ") must be at least --min-per-user (" +
                std::to_string(o.min_per_user) + ")");
  }
  if (o.pairs > std::numeric_limits<int32_t>::max()) throw Error("--pairs is too large");
  // Replacing a folder is fine for an earlier dataset, never for anything else the user named by mistake.
  if (fs::exists(o.out)) {
    if (!fs::is_directory(o.out)) throw Error(o.out.string() + ": exists and is not a folder");
    if (!fs::is_empty(o.out) && !fs::exists(o.out / "dataset.json"))
      throw Error(o.out.string() + ": exists and is not a dataset (no dataset.json); refusing to replace it");
  }
  if (!fs::is_directory(o.from)) throw Error(o.from.string() + ": not a folder (expected the H&M Kaggle files)");
  const fs::path articles_path = o.from / kArticlesFile, customers_path = o.from / kCustomersFile,
                 transactions_path = o.from / kTransactionsFile;
  // Every file and header is checked before the long reads start.
  {
    required_columns(CsvStream(articles_path, 1 << 16), kArticleColumns);
    required_columns(CsvStream(customers_path, 1 << 16), kCustomerColumns);
    required_columns(CsvStream(transactions_path, 1 << 16), kTransactionColumns);
  }

  const Articles articles = read_articles(articles_path, o.progress);
  IdIndex customers = read_customers(customers_path, o.progress);
  const TransactionCounts counts = count_transactions(transactions_path, customers, articles, o.progress);
  const auto n_customers = static_cast<size_t>(customers.size());

  // Customers who might have min_per_user distinct articles (as positions in the index), in file order,
  // then in a random order.
  std::vector<uint32_t> order;
  int64_t eligible_rows = 0;
  {
    std::vector<uint32_t> pos_of(n_customers);
    for (size_t pos = 0; pos < customers.capacity(); ++pos)
      if (customers.at(pos).index_plus1 != 0) pos_of[static_cast<size_t>(customers.at(pos).index())] = pos;
    for (const uint32_t pos : pos_of) {
      const uint32_t rows = customers.at(pos).count;
      if (rows < static_cast<uint64_t>(o.min_per_user)) continue;
      order.push_back(pos);
      eligible_rows += rows;
    }
  }
  const auto too_few = [&](int64_t have, const std::string& what, const std::string& per_customer) {
    return Error(transactions_path.string() + ": only " + std::to_string(have) + " " + what +
                 " among customers with at least " + std::to_string(o.min_per_user) + " " + per_customer +
                 "; --pairs asks for " + std::to_string(o.pairs));
  };
  if (eligible_rows < o.pairs) throw too_few(eligible_rows, "transactions", "transactions");
  std::mt19937_64 rng(o.seed);
  for (size_t k = order.size(); k > 1; --k) std::swap(order[k - 1], order[uniform_below(rng, k)]);

  // Sample in growing batches until the distinct pairs reach --pairs. A batch holds customers whose rows
  // add up to a margin over what is missing (repeat purchases and skipped customers take some away), so
  // one collecting pass is the rule and the batches only ever grow the same prefix of `order`.
  Collected col;
  std::vector<int64_t> distinct;  // (candidates) distinct articles
  PairTake take;
  size_t hi = 0;
  int64_t passes = 1, have = 0;
  for (double margin = 1.5;; margin *= 2) {
    IdIndex wanted;  // this batch: hashed customer id -> position in `order`
    int64_t rows = 0;
    const double want = margin * static_cast<double>(o.pairs - have) + 16.0 * static_cast<double>(o.min_per_user);
    while (hi < order.size() && static_cast<double>(rows) < want) {
      const IdIndex::Slot& c = customers.at(order[hi]);
      wanted.insert({c.h1, c.h2}, static_cast<int64_t>(hi));
      rows += c.count;
      ++hi;
    }
    collect_pass(transactions_path, articles, wanted, col, o.progress, ++passes);
    distinct.assign(hi, 0);
    for (const auto& p : col.pairs) ++distinct[p.candidate];
    take = take_pairs(distinct, o.pairs, o.min_per_user);
    if (take.complete) break;
    have = 0;
    for (const int64_t k : take.kept) have += k;
    if (hi == order.size()) throw too_few(have, "distinct (customer, article) pairs", "distinct articles");
  }

  // Each candidate's pairs in purchase order; the first kept[i] of them stay.
  std::vector<std::vector<uint32_t>> of_candidate(hi);
  for (uint32_t k = 0; k < col.pairs.size(); ++k)
    if (take.kept[col.pairs[k].candidate] > 0) of_candidate[col.pairs[k].candidate].push_back(k);
  std::vector<uint32_t> kept;
  std::vector<char> keep_article(articles.line.size(), 0), keep_customer(n_customers, 0);
  for (size_t i = 0; i < hi; ++i) {
    auto& v = of_candidate[i];
    if (v.empty()) continue;
    std::sort(v.begin(), v.end(), [&](uint32_t a, uint32_t b) { return col.before(col.pairs[a], col.pairs[b]); });
    v.resize(static_cast<size_t>(take.kept[i]));
    kept.insert(kept.end(), v.begin(), v.end());
    keep_customer[static_cast<size_t>(customers.at(order[i]).index())] = 1;
    for (const uint32_t k : v) keep_article[col.pairs[k].article] = 1;
  }
  std::sort(kept.begin(), kept.end(), [&](uint32_t a, uint32_t b) { return col.before(col.pairs[a], col.pairs[b]); });

  HmImportSummary s;
  s.pairs = static_cast<int64_t>(kept.size());
  s.first_date = std::string(col.date(col.pairs[kept.front()]));
  s.last_date = std::string(col.date(col.pairs[kept.back()]));
  s.source_customers = customers.size();
  s.source_articles = static_cast<int64_t>(articles.line.size());
  s.source_transactions = counts.rows;
  s.transaction_passes = passes;

  io::StagedDir stage(fs::absolute(o.out).lexically_normal());
  {
    CsvFileWriter out(stage.path() / "interactions.csv");
    out.write(format_csv_row(kTransactionColumns));
    for (const uint32_t k : kept) out.write(col.row(col.pairs[k]));
    out.close();
  }
  col = Collected();  // the sample is written; its memory goes back before the next reads
  // users.csv and items.csv: the kept rows of the source files, every column, in source order.
  const auto copy_rows = [&](const fs::path& from, const std::vector<char>& keep, const std::string& to) {
    CsvStream in(from);
    CsvFileWriter out(stage.path() / to);
    out.write(format_csv_row(in.header()));
    std::vector<std::string> row;
    int64_t n = 0;
    while (in.next(row)) {
      const auto r = static_cast<size_t>(in.rows() - 1);
      if (r < keep.size() && keep[r]) {
        out.write(format_csv_row(row));
        ++n;
      }
    }
    if (in.rows() != static_cast<int64_t>(keep.size()))
      throw DataError(in.path() + ": the file changed during the import");
    out.close();
    return n;
  };
  s.customers = copy_rows(customers_path, keep_customer, "users.csv");
  s.articles = copy_rows(articles_path, keep_article, "items.csv");
  io::write_file_atomic(stage.path() / "schema.toml", hm_schema().to_toml());

  {
    nlohmann::ordered_json j;
    j["source"] = "H&M Kaggle";
    j["competition"] = "H&M Personalized Fashion Recommendations";
    nlohmann::ordered_json inputs;
    const auto input = [](const fs::path& p, int64_t rows) {
      return nlohmann::ordered_json{{"path", fs::absolute(p).lexically_normal().string()},
                                    {"bytes", static_cast<uint64_t>(fs::file_size(p))},
                                    {"rows", rows}};
    };
    inputs["articles"] = input(articles_path, s.source_articles);
    inputs["customers"] = input(customers_path, customers.size());
    inputs["transactions"] = input(transactions_path, counts.rows);
    j["inputs"] = inputs;
    j["pairs"] = s.pairs;
    j["seed"] = o.seed;
    j["min_per_user"] = o.min_per_user;
    j["sampling"] = hm_sampling_method(o.min_per_user);
    j["counts"] = {{"users", s.customers}, {"items", s.articles}, {"interactions", s.pairs}};
    j["date_range"] = {{"first", s.first_date}, {"last", s.last_date}};
    j["source_counts"] = {{"customers", s.source_customers},
                          {"articles", s.source_articles},
                          {"transactions", s.source_transactions},
                          {"customers_with_enough_transactions", static_cast<int64_t>(order.size())},
                          {"customers_sampled", static_cast<int64_t>(hi)}};
    j["source_date_range"] = {{"first", counts.first_date}, {"last", counts.last_date}};
    j["transaction_passes"] = passes;
    j["columns"] = {{"users", "every column of customers.csv, values unchanged"},
                    {"items", "every column of articles.csv, values unchanged"},
                    {"interactions", join(kTransactionColumns) + ": the first purchase of each kept pair"}};
    io::write_file_atomic(stage.path() / "dataset.json", j.dump(2) + "\n");
  }
  stage.commit();
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return s;
}

}  // namespace ftmamba::data
