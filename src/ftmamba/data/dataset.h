// defines: FeatureTable, Interactions and Dataset: a dataset folder (schema.toml and the users, items and
// interactions tables, each NAME.csv, NAME.tsv, NAME.csv.gz or NAME.tsv.gz) loaded and validated in memory.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

#include "ftmamba/data/schema.h"
#include "ftmamba/data/table_file.h"

namespace ftmamba::data {

// One side's entities (users or items) and their raw features.
struct FeatureTable {
  std::vector<std::string> ids;                    // (n)
  std::unordered_map<std::string, int64_t> index;  // id -> row
  std::vector<std::string> numerical_names;        // (n_num)
  std::vector<std::string> categorical_names;      // (n_cat)
  std::vector<double> numerical;                   // (n, n_num) row-major; NaN = missing
  std::vector<std::string> categorical;            // (n, n_cat) row-major; "" = missing
  std::vector<std::string> multi_valued_names;     // (n_multi)
  std::vector<std::string> multi_valued;           // (n, n_multi) row-major, the cell's text; "" = missing
  std::string separator = "|";                     // between the values of a multi_valued cell

  int64_t size() const { return static_cast<int64_t>(ids.size()); }
  int64_t n_num() const { return static_cast<int64_t>(numerical_names.size()); }
  int64_t n_cat() const { return static_cast<int64_t>(categorical_names.size()); }
  double num(int64_t row, int64_t j) const { return numerical[row * n_num() + j]; }
  int64_t n_multi() const { return static_cast<int64_t>(multi_valued_names.size()); }
  const std::string& cat(int64_t row, int64_t j) const { return categorical[row * n_cat() + j]; }
  const std::string& multi(int64_t row, int64_t j) const { return multi_valued[row * n_multi() + j]; }
};

struct Interactions {
  std::vector<int64_t> user;      // row into users
  std::vector<int64_t> item;      // row into items
  std::vector<double> timestamp;  // file order when the schema has no timestamp column
  std::vector<double> weight;     // 1 when the schema has no weight column
  int64_t size() const { return static_cast<int64_t>(user.size()); }
};

struct Dataset {
  std::filesystem::path dir;
  Schema schema;
  TableFile users_file, items_file, interactions_file;  // the files read (find_table_file), for messages
  FeatureTable users, items;
  Interactions interactions;

  // Loads and validates a dataset folder. Throws DataError naming file, line and column for every
  // malformed input (see read_csv, plus: unknown schema column, unknown user/item id in an
  // interaction, duplicate id, empty table, NaN/Inf or unparsable number, a table with no file or two).
  static Dataset load(const std::filesystem::path& dir);
};

// Reads one feature table (users or items) against its schema.
FeatureTable load_feature_table(const TableFile& file, const TableSchema& schema);

}  // namespace ftmamba::data
