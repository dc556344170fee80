// defines: ItemSearch, the top-k items by inner product with user embeddings over a catalog that may change
// while it serves (items added, re-encoded or removed), and SearchHit, one item it found. Implementations: exact
// scoring of every item, or an approximate FAISS index (ftmamba index).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ftmamba::serve {

struct SearchHit {
  int64_t item_row = 0;  // the item's row in the catalog (Recommender's item ids and embeddings)
  float score = 0;       // <user, item>
};

class ItemSearch {
 public:
  virtual ~ItemSearch() = default;

  // queries: (B, E) float32 on the CPU. For query b, the k best live items whose rows are not in excluded[b]
  // (ascending rows; null for none), best first; equal scores by the lower row. Fewer than k come back when fewer
  // remain. Safe to call from several threads at once; never concurrently with upsert or remove (the caller
  // holds a writer lock for those).
  virtual std::vector<std::vector<SearchHit>> search(
      const torch::Tensor& queries, int64_t k, const std::vector<const std::vector<int64_t>*>& excluded) const = 0;

  // Adds the item at `item_row` ((E) float32 embedding), or replaces the embedding of a live one. A new row is
  // the next one (live_items() counts only live rows; removed rows are never reused).
  virtual void upsert(int64_t item_row, const torch::Tensor& embedding) = 0;
  // Removes a live item; nothing happens when the row is not live.
  virtual void remove(int64_t item_row) = 0;

  virtual int64_t live_items() const = 0;
  // What answers the queries, for responses and metrics: "exact", or the index type and its search parameters.
  virtual std::string describe() const = 0;
};

}  // namespace ftmamba::serve
