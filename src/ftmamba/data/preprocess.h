// defines: FeatureEncoding (categorical vocabularies + numerical standardisation, fitted on the training
// split and saved with the model) and EncodedFeatures (the exact tensors an encoder consumes).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ftmamba/data/dataset.h"

namespace ftmamba::data {

// Encoder inputs for n entities.
struct EncodedFeatures {
  torch::Tensor numerical;    // (n, n_num) float32, standardised; a missing value is the training mean (0)
  torch::Tensor missing;      // (n, n_num) float32, 1 where the raw value was missing
  torch::Tensor categorical;  // (n, n_cat + sum of multi_widths) int64, index into the shared embedding table
                              // (offset applied); the first index of each feature (its offset) is the
                              // unknown/rare bucket; -1 pads a multi-valued feature's unused columns
  int64_t size() const { return numerical.size(0); }
  EncodedFeatures index_select(const torch::Tensor& rows) const;  // rows: (m) int64, on this data's device
  // The rows of every part, in order (parts encoded with one encoding: the same widths); at least one part.
  static EncodedFeatures cat(const std::vector<EncodedFeatures>& parts);
  EncodedFeatures to(torch::Device device) const;
};

struct FeatureEncoding {
  std::vector<std::string> numerical_names;
  std::vector<double> mean, std;  // (n_num); std >= 1e-6
  std::vector<std::string> categorical_names;
  std::vector<std::vector<std::string>> vocab;  // vocab[j][0] == "" stands for unknown/rare/missing
  std::vector<int64_t> offsets;                 // (n_cat) start of feature j in the shared table
  // Multi-valued categorical features, after the single-valued ones in the shared table. Feature j takes
  // multi_widths[j] columns of EncodedFeatures::categorical (the most values a cell of the table holds); a
  // cell's values fill the first ones and -1 pads the rest. The tokenizer averages the values' embeddings.
  std::vector<std::string> multi_valued_names;
  std::vector<std::vector<std::string>> multi_vocab;  // as vocab: [0] == "" is unknown/rare/missing
  std::vector<int64_t> multi_offsets;                 // (n_multi) start of feature j in the shared table
  std::vector<int64_t> multi_widths;                  // (n_multi), each in 1..kMaxValuesPerCell
  std::string separator = "|";
  int64_t min_frequency = 1;

  int64_t n_num() const { return static_cast<int64_t>(numerical_names.size()); }
  int64_t n_cat() const { return static_cast<int64_t>(categorical_names.size()); }
  int64_t n_multi() const { return static_cast<int64_t>(multi_valued_names.size()); }
  int64_t categorical_columns() const;         // EncodedFeatures::categorical's width: n_cat + the multi_widths
  int64_t total_categories() const;            // size of the shared embedding table
  std::vector<int64_t> cardinalities() const;  // vocab[j].size() for each j

  // Statistics and vocabularies from `rows` of the table (e.g. the users that occur in the training
  // split). A category seen fewer than min_frequency times goes to the unknown bucket.
  static FeatureEncoding fit(const FeatureTable& table, const std::vector<int64_t>& rows, int64_t min_frequency);
  // Encodes every row of a table with the same columns (by name). Unseen categories -> unknown.
  EncodedFeatures transform(const FeatureTable& table) const;

  nlohmann::json to_json() const;
  static FeatureEncoding from_json(const nlohmann::json& j);
};

// Builds a one-row FeatureTable from "name=value" pairs (cold start: a user or item not in the data).
// Columns not given are missing. Throws Error for a name that is not a feature column of `schema`,
// or a numerical value that does not parse.
FeatureTable feature_table_from_pairs(const std::string& id, const TableSchema& schema,
                                      const std::vector<std::pair<std::string, std::string>>& pairs);

}  // namespace ftmamba::data
