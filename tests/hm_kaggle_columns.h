// The column names of the H&M Kaggle competition's three CSVs, in file order, for the tests that build
// files in that schema (the importer's fixture) or check that ours follow it (the hm preset). The tests
// spell them out themselves on purpose, so a typo in the code's own lists cannot hide behind them.
#pragma once
#include <string>
#include <vector>

namespace hm_kaggle {

inline const std::vector<std::string> kArticleColumns = {"article_id",
                                                         "product_code",
                                                         "prod_name",
                                                         "product_type_no",
                                                         "product_type_name",
                                                         "product_group_name",
                                                         "graphical_appearance_no",
                                                         "graphical_appearance_name",
                                                         "colour_group_code",
                                                         "colour_group_name",
                                                         "perceived_colour_value_id",
                                                         "perceived_colour_value_name",
                                                         "perceived_colour_master_id",
                                                         "perceived_colour_master_name",
                                                         "department_no",
                                                         "department_name",
                                                         "index_code",
                                                         "index_name",
                                                         "index_group_no",
                                                         "index_group_name",
                                                         "section_no",
                                                         "section_name",
                                                         "garment_group_no",
                                                         "garment_group_name",
                                                         "detail_desc"};
inline const std::vector<std::string> kCustomerColumns = {
    "customer_id", "FN", "Active", "club_member_status", "fashion_news_frequency", "age", "postal_code"};
inline const std::vector<std::string> kTransactionColumns = {"t_dat", "customer_id", "article_id", "price",
                                                             "sales_channel_id"};

}  // namespace hm_kaggle
