// defines: import_hm: checks the options and the three files' headers, reads the indexes, samples
// customers in growing batches until the distinct pairs reach --pairs, and writes the dataset folder under
// a temporary name. The reads are in hm_reads.h, the sampling rule in hm_sampling.h.
#include "ftmamba/data/loaders/hm_kaggle.h"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

#include "ftmamba/core/error.h"
#include "ftmamba/core/timer.h"
#include "ftmamba/data/csv.h"
#include "ftmamba/data/csv_file_writer.h"
#include "ftmamba/data/csv_stream.h"
#include "ftmamba/data/loaders/hm_layout.h"
#include "ftmamba/data/loaders/hm_reads.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/io/staged_dir.h"

namespace ftmamba::data {
namespace {

namespace fs = std::filesystem;
using namespace hm_kaggle;

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (size_t k = 0; k < v.size(); ++k) out += (k ? ", " : "") + v[k];
  return out;
}

}  // namespace

HmImportSummary import_hm(const HmImportOptions& o) {
  const Stopwatch watch;
  if (o.min_per_user < 1) throw Error("--min-per-user must be at least 1");
  if (o.pairs < o.min_per_user) {
    throw Error("--pairs (" + std::to_string(o.pairs) + ") must be at least --min-per-user (" +
                std::to_string(o.min_per_user) + ")");
  }
  if (o.pairs > std::numeric_limits<int32_t>::max()) throw Error("--pairs is too large");
  // Replacing a folder is fine for an earlier dataset, never for anything else the user named by mistake.
  const io::OutputPolicy policy{
      .kind = io::OutputKind::kDataset, .force = o.force, .resume = false, .inputs = {o.from}};
  io::StagedDir::check(o.out, policy);  // before the long read

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
  Customers customers = read_customers(customers_path, o.progress);
  const TransactionCounts counts = count_transactions(transactions_path, customers, articles, o.progress);
  const auto n_customers = static_cast<size_t>(customers.size());

  // Customers who might have min_per_user distinct articles (their index entries, which stay put now that
  // the index is complete), in file order, then in a random order.
  std::vector<const Customers::Entry*> order;
  int64_t eligible_rows = 0;
  {
    std::vector<const Customers::Entry*> of_row(n_customers);
    customers.for_each([&](const Customers::Entry& e) { of_row[e.value.row] = &e; });
    for (const auto* entry : of_row) {
      const uint32_t rows = entry->value.transactions;
      if (rows < static_cast<uint64_t>(o.min_per_user)) continue;
      order.push_back(entry);
      eligible_rows += rows;
    }
  }
  const auto too_few = [&](int64_t have, const std::string& what, const std::string& per_customer) {
    return Error(transactions_path.string() + ": only " + std::to_string(have) + " " + what +
                 " among customers with at least " + std::to_string(o.min_per_user) + " " + per_customer +
                 "; --pairs asks for " + std::to_string(o.pairs));
  };
  if (eligible_rows < o.pairs) throw too_few(eligible_rows, "transactions", "transactions");
  shuffle_customers(order, o.seed);

  // Sample in growing batches until the distinct pairs reach --pairs. A batch holds customers whose rows
  // add up to a margin over what is missing (repeat purchases and skipped customers take some away), so
  // one collecting pass is the rule and the batches only ever grow the same prefix of `order`.
  Collected col;
  std::vector<int64_t> distinct;  // (candidates) distinct articles
  PairTake take;
  size_t hi = 0;
  int64_t passes = 1, have = 0;
  for (double margin = 1.5;; margin *= 2) {
    HashedIdMap<uint32_t> wanted;  // this batch: hashed customer id -> position in `order`
    int64_t rows = 0;
    const double want = margin * static_cast<double>(o.pairs - have) + 16.0 * static_cast<double>(o.min_per_user);
    while (hi < order.size() && static_cast<double>(rows) < want) {
      wanted.try_emplace(order[hi]->id, static_cast<uint32_t>(hi));
      rows += order[hi]->value.transactions;
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
    keep_customer[order[i]->value.row] = 1;
    for (const uint32_t k : v) keep_article[col.pairs[k].article] = 1;
  }
  std::sort(kept.begin(), kept.end(), [&](uint32_t a, uint32_t b) { return col.before(col.pairs[a], col.pairs[b]); });

  HmImportSummary s;
  s.pairs = static_cast<int64_t>(kept.size());
  s.first_date = std::string(col.date(col.pairs[kept.front()]));
  s.last_date = std::string(col.date(col.pairs[kept.back()]));
  s.source_customers = static_cast<int64_t>(customers.size());
  s.source_articles = static_cast<int64_t>(articles.line.size());
  s.source_transactions = counts.rows;
  s.transaction_passes = passes;

  io::StagedDir stage(o.out, policy);
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
    inputs["customers"] = input(customers_path, s.source_customers);
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
  s.seconds = watch.seconds();
  return s;
}

}  // namespace ftmamba::data
