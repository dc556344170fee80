// defines: import_hm, which samples user-action pairs from the H&M Personalized Fashion Recommendations
// Kaggle files (articles.csv, customers.csv, transactions_train.csv) into a dataset folder, streaming the
// 3.5 GB transactions file; and take_pairs, the rule that cuts the sampled customers to exactly N pairs.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace ftmamba::data {

struct HmImportOptions {
  std::filesystem::path from;  // folder holding articles.csv, customers.csv, transactions_train.csv
  std::filesystem::path out;   // dataset folder to write
  int64_t pairs = 160000;      // distinct (customer, article) pairs to keep, exactly
  uint64_t seed = 1;           // picks the customers; same seed and files, same folder
  int64_t min_per_user = 3;    // every kept customer has at least this many pairs
  bool progress = true;        // progress on stderr: a live line on a terminal, else a line every 10 s
};

struct HmImportSummary {
  int64_t customers = 0, articles = 0, pairs = 0;  // in the written folder
  std::string first_date, last_date;               // t_dat range of the kept interactions
  int64_t source_customers = 0, source_articles = 0, source_transactions = 0;
  int64_t transaction_passes = 0;  // full reads of transactions_train.csv (2 unless the first sample fell short)
  double seconds = 0.0;
};

// How customers and pairs are chosen, in words: for --help and dataset.json.
std::string hm_sampling_method(int64_t min_per_user);

// Reads the three files in options.from and writes options.out: users.csv (the kept customers' rows,
// every column as in customers.csv), items.csv (the articles of the kept pairs, every column as in
// articles.csv), interactions.csv (t_dat,customer_id,article_id,price,sales_channel_id, one row per kept
// pair, its first purchase, in time order), schema.toml and dataset.json. Memory is bounded by the
// customer count and --pairs, not by the transactions file. Throws DataError naming FILE:LINE:COLUMN
// for a missing file or column, a ragged row, a bad date, price or age, a duplicate id, or an unknown
// customer or article in a transaction; Error when the files hold fewer pairs than asked for. The folder
// is built under a temporary name, so a failure leaves nothing; an existing out folder is replaced only
// if it is empty or a dataset (has dataset.json).
HmImportSummary import_hm(const HmImportOptions& options);

// The cut to exactly `pairs`. distinct[i] is the number of distinct articles of the i-th customer in
// the sampled order. Customers with fewer than min_per_user are skipped (kept 0); whole customers are
// kept while they fit; the next one keeps the remainder r if r >= min_per_user, otherwise it keeps
// min_per_user and the customers before it, latest first, give up pairs down to min_per_user each.
// complete is false when the customers listed do not reach `pairs` (the caller samples more). Throws
// Error when the remainder cannot be placed (every earlier customer already at min_per_user).
struct PairTake {
  std::vector<int64_t> kept;  // (distinct.size()) pairs kept of each customer, their earliest ones
  bool complete = false;
};
PairTake take_pairs(const std::vector<int64_t>& distinct, int64_t pairs, int64_t min_per_user);

}  // namespace ftmamba::data
