// defines: the H&M column lists and hm_schema.
#include "ftmamba/data/loaders/hm_layout.h"

namespace ftmamba::data::hm_kaggle {

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
  s.users = {"customer_id", kUserNumerical, kUserCategorical, {}, "|"};
  s.items = {"article_id", {}, kItemCategorical, {}, "|"};
  s.interactions.user = "customer_id";
  s.interactions.item = "article_id";
  s.interactions.timestamp = "t_dat";
  return s;
}

}  // namespace ftmamba::data::hm_kaggle
