// defines: the layout of the H&M Kaggle files as `import hm` uses it: the three file names, the columns it
// needs from each, and the schema.toml of the dataset it writes.
#pragma once
#include <string>
#include <vector>

#include "ftmamba/data/schema.h"

namespace ftmamba::data::hm_kaggle {

inline constexpr const char* kArticlesFile = "articles.csv";
inline constexpr const char* kCustomersFile = "customers.csv";
inline constexpr const char* kTransactionsFile = "transactions_train.csv";

// The columns the dataset uses; any other column of articles.csv / customers.csv is copied as it is.
extern const std::vector<std::string> kUserNumerical, kUserCategorical, kItemCategorical;
// Checked before the long reads start: the id, then the features.
extern const std::vector<std::string> kArticleColumns, kCustomerColumns;
// transactions_train.csv's columns, in its order; interactions.csv keeps them.
extern const std::vector<std::string> kTransactionColumns;

Schema hm_schema();

}  // namespace ftmamba::data::hm_kaggle
