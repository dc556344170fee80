// defines: import_hm, which samples user-action pairs from the H&M Personalized Fashion Recommendations
// Kaggle files (articles.csv, customers.csv, transactions_train.csv) into a dataset folder, streaming the
// 3.5 GB transactions file, with its options and summary. The sampling rule is in hm_sampling.h.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "ftmamba/data/loaders/hm_sampling.h"

namespace ftmamba::data {

struct HmImportOptions {
  std::filesystem::path from;  // folder holding articles.csv, customers.csv, transactions_train.csv
  std::filesystem::path out;   // dataset folder to write
  int64_t pairs = 160000;      // distinct (customer, article) pairs to keep, exactly
  uint64_t seed = 1;           // picks the customers; same seed and files, same folder
  int64_t min_per_user = 3;    // every kept customer has at least this many pairs
  bool force = false;          // replace an existing dataset at out
  bool progress = true;        // progress on stderr: a live line on a terminal, else a line every 10 s
};

struct HmImportSummary {
  int64_t customers = 0, articles = 0, pairs = 0;  // in the written folder
  std::string first_date, last_date;               // t_dat range of the kept interactions
  int64_t source_customers = 0, source_articles = 0, source_transactions = 0;
  int64_t transaction_passes = 0;  // full reads of transactions_train.csv (2 unless the first sample fell short)
  double seconds = 0.0;
};

// Reads the three files in options.from and writes options.out: users.csv (the kept customers' rows,
// every column as in customers.csv), items.csv (the articles of the kept pairs, every column as in
// articles.csv), interactions.csv (t_dat,customer_id,article_id,price,sales_channel_id, one row per kept
// pair, its first purchase, in time order), schema.toml and dataset.json. Memory is bounded by the
// customer count and --pairs, not by the transactions file. Throws DataError naming FILE:LINE:COLUMN
// for a missing file or column, a ragged row, a bad date, price or age, a duplicate id, or an unknown
// customer or article in a transaction; Error when the files hold fewer pairs than asked for. The folder
// is built under a temporary name (io::StagedDir), so a failure leaves nothing; an existing out folder is
// replaced only if it is empty, or a dataset and options.force.
HmImportSummary import_hm(const HmImportOptions& options);

}  // namespace ftmamba::data
