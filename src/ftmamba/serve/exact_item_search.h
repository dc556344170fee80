// defines: ExactItemSearch, the ItemSearch that scores every live item (one matmul) and keeps each query's top k
// in a k-heap, and NonFiniteScore, what it throws when a score it would rank is not finite.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ftmamba/core/error.h"
#include "ftmamba/serve/growing_rows.h"
#include "ftmamba/serve/item_search.h"

namespace ftmamba::serve {

// A live, not excluded item whose score with query `query` is NaN or infinite: it cannot be ranked. The caller
// names the user and the item (it knows their ids).
struct NonFiniteScore : Error {
  NonFiniteScore(int64_t query, int64_t item_row)
      : Error("the score of item row " + std::to_string(item_row) + " for query " + std::to_string(query) +
              " is not finite"),
        query(query),
        item_row(item_row) {}
  int64_t query, item_row;
};

class ExactItemSearch : public ItemSearch {
 public:
  // The catalog: (I, E) float32 embeddings, rows 0..I-1 live, kept on their device (queries are moved there).
  explicit ExactItemSearch(const torch::Tensor& embeddings);

  // Exact top k: equal scores by the lower row, so a query's list is the same alone or among others. Throws
  // NonFiniteScore for the first query (and its first item) whose score cannot be ranked.
  std::vector<std::vector<SearchHit>> search(const torch::Tensor& queries, int64_t k,
                                             const std::vector<const std::vector<int64_t>*>& excluded) const override;
  // Throws Error for a row that is neither live nor the next one, a removed row, or an embedding of the wrong size.
  void upsert(int64_t item_row, const torch::Tensor& embedding) override;
  void remove(int64_t item_row) override;
  int64_t live_items() const override { return live_count_; }
  std::string describe() const override { return "exact"; }

 private:
  GrowingRows embeddings_;     // (rows, E), removed rows included (never scored)
  std::vector<uint8_t> live_;  // per row
  int64_t live_count_ = 0;
};

}  // namespace ftmamba::serve
