// defines: ItemIndex, an ItemSearch over a FAISS inner-product index (flat, hnsw, ivf, ivfpq) of the item
// embeddings. FAISS ids are slots: slot s holds one embedding of item row slot_rows[s]. The catalog as built has
// slot == row; an upsert appends a slot (the item's old one, if any, turns dead) and a remove kills the item's
// slot, so no index type ever needs FAISS's own removal (HNSW has none). Dead slots and a query's excluded rows
// are left out by an IDSelector during the FAISS search; the candidates are rescored with the exact inner
// products of the stored embeddings, and a query the index cannot fill (an IVF list not probed, an HNSW walk
// that met only excluded items) is filled by exact scoring, so k items come back whenever k remain.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ftmamba/serve/hnsw_walk.h"
#include "ftmamba/serve/index_params.h"
#include "ftmamba/serve/item_search.h"

namespace faiss {
struct Index;
}  // namespace faiss

namespace ftmamba::serve {

// What an index was built from, recorded in index.json and checked on load.
struct IndexIdentity {
  int64_t dim = 0;
  bool normalized = false;  // unit-length embeddings (model.l2_normalize): the inner product is the cosine
  // The run's weights: {"model.safetensors": sha256, ...} as its config.json records them.
  nlohmann::json weights = nlohmann::json::object();
};

class ItemIndex : public ItemSearch {
 public:
  // Builds and (ivf, ivfpq) trains an index of `embeddings` ((n, E) float32, row r = item row r) with `params`
  // (resolve_index_params). `on_progress(done, n)` is called as items are added (for a progress line).
  static ItemIndex build(const torch::Tensor& embeddings, const IndexParams& params, IndexIdentity identity,
                         const std::function<void(int64_t, int64_t)>& on_progress = {});

  // index.faiss, vectors.safetensors and index.json, the last written last (it holds the SHA-256 of the other
  // two), each through io's atomic writes, in `dir` (created when missing).
  void save(const std::filesystem::path& dir) const;
  // Reads what save wrote, checking the SHA-256s, the files' shapes, and that `expected` (the run it serves)
  // has the same embedding dimension and weights. Throws Error naming the file at fault; never crashes on
  // corrupt bytes.
  static ItemIndex load(const std::filesystem::path& dir, const IndexIdentity& expected);

  ItemIndex(ItemIndex&&) noexcept;
  ItemIndex& operator=(ItemIndex&&) noexcept;
  ~ItemIndex() override;

  std::vector<std::vector<SearchHit>> search(const torch::Tensor& queries, int64_t k,
                                             const std::vector<const std::vector<int64_t>*>& excluded) const override;
  void upsert(int64_t item_row, const torch::Tensor& embedding) override;
  void remove(int64_t item_row) override;
  int64_t live_items() const override { return live_; }
  std::string describe() const override { return params_.describe(); }

  const IndexParams& params() const { return params_; }
  const IndexIdentity& identity() const { return identity_; }
  // The search parameter (efSearch, nprobe) used from now on; the sweep of a recall report sets it. Set on the
  // FAISS index too: FAISS 1.7.3's HNSW walk stops by the index's own efSearch as well as the one passed with
  // a search (measured: recall stopped growing past the index's value). Not concurrent with search.
  void set_search_value(int64_t value);
  int64_t rows() const { return static_cast<int64_t>(row_slot_.size()); }  // every row ever given, live or not

  // The file names inside an index folder.
  static constexpr const char* kFaissFile = "index.faiss";
  static constexpr const char* kVectorsFile = "vectors.safetensors";
  static constexpr const char* kMetaFile = "index.json";

 private:
  ItemIndex() = default;
  void add_slots(const float* vectors, const std::vector<int64_t>& rows,
                 const std::function<void(int64_t, int64_t)>& on_progress);
  float exact_score(const float* query, int64_t slot) const;
  std::vector<SearchHit> search_one(const float* query, int64_t k, const std::vector<int64_t>* excluded) const;
  // Scratch of finished HNSW walks, for the next ones (one per concurrent search at most).
  struct ScratchPool {
    std::unique_ptr<HnswScratch> take();
    void give_back(std::unique_ptr<HnswScratch> scratch);
    std::mutex mutex;
    std::vector<std::unique_ptr<HnswScratch>> free;
  };

  IndexParams params_;
  IndexIdentity identity_;
  std::unique_ptr<faiss::Index> index_;
  std::vector<float> vectors_;      // (slots, E): the embedding each slot holds, for exact scores
  std::vector<int64_t> slot_row_;   // (slots)
  std::vector<uint8_t> slot_live_;  // (slots) 1 while the slot is its row's current embedding
  std::vector<int64_t> row_slot_;   // (rows) the row's live slot, or -1 (removed)
  int64_t live_ = 0;
  std::unique_ptr<ScratchPool> scratch_ = std::make_unique<ScratchPool>();
};

}  // namespace ftmamba::serve
