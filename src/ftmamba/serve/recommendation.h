// defines: ScoredItem and Recommendations, the typed result of a Recommender (item id, score, rank per item),
// to_json, their JSON form as `ftmamba recommend --json` prints it, and to_table, the table it prints otherwise.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ftmamba::serve {

struct ScoredItem {
  int64_t rank = 0;      // 1-based, best first
  std::string item;      // item id
  int64_t item_row = 0;  // row in items.csv (and in Recommender::item_embeddings)
  double score = 0;      // <user, item>, always finite
};

struct Recommendations {
  std::string user;         // the user id, or the caller's label for a new user
  bool cold_start = false;  // encoded from given features rather than the user's row in users.csv
  std::vector<ScoredItem> items;
};

// {"user", "cold_start", "items": [{"rank", "item", "score"}, ...]}
nlohmann::ordered_json to_json(const Recommendations& r);

// "rank  item  score" and one line per item. Item ids come from items.csv: their control characters are
// escaped (printable), so that an id holding ESC cannot drive the terminal.
std::string to_table(const Recommendations& r);

}  // namespace ftmamba::serve
