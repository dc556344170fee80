// defines: ItemIndex's build, search and live changes (see item_index.h); save and load are in
// item_index_files.cpp.
#include "ftmamba/serve/item_index.h"

#include <ATen/Parallel.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>

#include <algorithm>
#include <cmath>
#include <mutex>

#include "ftmamba/core/error.h"
#include "ftmamba/kernels/inner_product_cpu.h"

namespace ftmamba::serve {
namespace {

// Candidates fetched beyond k: the exact rescoring then settles the order at the k-th place (ties by row). An
// ivfpq index ranks by its compressed codes, so it fetches twice as many for the rescoring to pick from.
constexpr int64_t kExtraCandidates = 16;
constexpr int64_t kPqRerankFactor = 2;
// Items added to FAISS at a time while building (the progress line moves between them).
constexpr int64_t kAddChunk = 8192;

// FAISS's verdict on a slot: live, and its row not among the query's excluded rows (ascending).
struct LiveAndNotExcluded : faiss::IDSelector {
  const uint8_t* live = nullptr;
  const int64_t* slot_row = nullptr;
  const std::vector<int64_t>* excluded = nullptr;
  bool is_member(idx_t slot) const override {
    if (live[slot] == 0) return false;
    return excluded == nullptr || !std::binary_search(excluded->begin(), excluded->end(), slot_row[slot]);
  }
};

// Best first: the higher score, then the lower row.
bool better(const SearchHit& a, const SearchHit& b) {
  return a.score > b.score || (a.score == b.score && a.item_row < b.item_row);
}

std::unique_ptr<faiss::Index> make_faiss_index(const IndexParams& p, int64_t dim) {
  const int d = static_cast<int>(dim);
  switch (p.type) {
    case IndexType::kFlat:
      return std::make_unique<faiss::IndexFlatIP>(d);
    case IndexType::kHnsw: {
      auto index = std::make_unique<faiss::IndexHNSWFlat>(d, static_cast<int>(p.hnsw_m), faiss::METRIC_INNER_PRODUCT);
      index->hnsw.efConstruction = static_cast<int>(p.ef_construction);
      index->hnsw.efSearch = static_cast<int>(p.ef_search);
      return index;
    }
    case IndexType::kIvf: {
      auto index = std::make_unique<faiss::IndexIVFFlat>(new faiss::IndexFlatIP(d), d, static_cast<size_t>(p.nlist),
                                                         faiss::METRIC_INNER_PRODUCT);
      index->own_fields = true;
      index->nprobe = static_cast<size_t>(p.nprobe);
      return index;
    }
    case IndexType::kIvfPq: {
      auto index = std::make_unique<faiss::IndexIVFPQ>(new faiss::IndexFlatIP(d), d, static_cast<size_t>(p.nlist),
                                                       static_cast<size_t>(p.pq_m), static_cast<size_t>(p.pq_bits),
                                                       faiss::METRIC_INNER_PRODUCT);
      index->own_fields = true;
      index->nprobe = static_cast<size_t>(p.nprobe);
      return index;
    }
  }
  throw Error("unknown index type");
}

}  // namespace

ItemIndex::ItemIndex(ItemIndex&&) noexcept = default;
ItemIndex& ItemIndex::operator=(ItemIndex&&) noexcept = default;
ItemIndex::~ItemIndex() = default;

ItemIndex ItemIndex::build(const torch::Tensor& embeddings, const IndexParams& params, IndexIdentity identity,
                           const std::function<void(int64_t, int64_t)>& on_progress) {
  if (embeddings.dim() != 2 || embeddings.scalar_type() != torch::kFloat32)
    throw Error("an item index is built from (items, dim) float32 embeddings");
  const auto emb = embeddings.to(torch::kCPU).contiguous();  // (n, E)
  const int64_t n = emb.size(0), dim = emb.size(1);
  if (!torch::isfinite(emb).all().item<bool>()) throw Error("an item embedding is not finite; nothing was indexed");
  ItemIndex out;
  out.params_ = params;
  out.identity_ = std::move(identity);
  out.identity_.dim = dim;
  try {
    out.index_ = make_faiss_index(params, dim);
    if (params.type == IndexType::kIvf || params.type == IndexType::kIvfPq) out.index_->train(n, emb.data_ptr<float>());
    std::vector<int64_t> rows(n);
    for (int64_t r = 0; r < n; ++r) rows[r] = r;
    out.add_slots(emb.data_ptr<float>(), rows, on_progress);
  } catch (const faiss::FaissException& e) {
    throw Error("building the " + params.describe() + " index failed: " + e.what());
  }
  return out;
}

void ItemIndex::add_slots(const float* vectors, const std::vector<int64_t>& rows,
                          const std::function<void(int64_t, int64_t)>& on_progress) {
  const int64_t dim = identity_.dim, n = static_cast<int64_t>(rows.size());
  for (int64_t start = 0; start < n; start += kAddChunk) {
    const int64_t count = std::min(kAddChunk, n - start);
    index_->add(count, vectors + start * dim);
    if (on_progress) on_progress(start + count, n);
  }
  vectors_.insert(vectors_.end(), vectors, vectors + n * dim);
  for (int64_t row : rows) {
    const int64_t slot = static_cast<int64_t>(slot_row_.size());
    slot_row_.push_back(row);
    slot_live_.push_back(1);
    if (row >= static_cast<int64_t>(row_slot_.size())) row_slot_.resize(row + 1, -1);
    if (row_slot_[row] >= 0) {
      slot_live_[row_slot_[row]] = 0;
    } else {
      ++live_;
    }
    row_slot_[row] = slot;
  }
}

float ItemIndex::exact_score(const float* query, int64_t slot) const {
  const int64_t dim = identity_.dim;
  return kernels::inner_product_cpu(query, vectors_.data() + slot * dim, dim);
}

std::unique_ptr<HnswScratch> ItemIndex::ScratchPool::take() {
  const std::lock_guard lock(mutex);
  if (free.empty()) return std::make_unique<HnswScratch>();
  auto scratch = std::move(free.back());
  free.pop_back();
  return scratch;
}

void ItemIndex::ScratchPool::give_back(std::unique_ptr<HnswScratch> scratch) {
  const std::lock_guard lock(mutex);
  free.push_back(std::move(scratch));
}

std::vector<SearchHit> ItemIndex::search_one(const float* query, int64_t k,
                                             const std::vector<int64_t>* excluded) const {
  // How many items may come back: the live ones less the live excluded ones (excluded is ascending).
  int64_t eligible = live_;
  if (excluded != nullptr)
    for (size_t i = 0; i < excluded->size(); ++i) {
      const int64_t row = (*excluded)[i];
      if ((i == 0 || row != (*excluded)[i - 1]) && row >= 0 && row < rows() && row_slot_[row] >= 0) --eligible;
    }
  const int64_t want = std::min(k, eligible);
  if (want <= 0) return {};
  const int64_t slots = static_cast<int64_t>(slot_row_.size());
  const bool filtered = live_ != slots || (excluded != nullptr && !excluded->empty());
  LiveAndNotExcluded selector;
  selector.live = slot_live_.data();
  selector.slot_row = slot_row_.data();
  selector.excluded = excluded;

  faiss::IDSelector* sel = filtered ? &selector : nullptr;  // FAISS 1.7.3 takes it non-const
  std::vector<SearchHit> hits;
  if (params_.type == IndexType::kHnsw) {
    // Our walk of FAISS's graph (hnsw_walk.h says why), with scratch kept between queries. It returns only slots the
    // selector accepts, with their exact inner products (the kernel exact_score uses, on the same embeddings).
    const int64_t fetch = std::min(want + kExtraCandidates, slots);
    auto scratch = scratch_->take();
    const auto found = hnsw_walk(static_cast<const faiss::IndexHNSW&>(*index_).hnsw, vectors_.data(), slots,
                                 identity_.dim, query, params_.ef_search, fetch, sel, *scratch);
    scratch_->give_back(std::move(scratch));
    hits.reserve(found.size());
    for (const auto& [score, slot] : found) hits.push_back({slot_row_[slot], score});
  } else {
    faiss::SearchParameters flat_params;
    faiss::SearchParametersIVF ivf_params;
    faiss::SearchParameters* search_params = &flat_params;
    int64_t fetch = want + kExtraCandidates;
    if (params_.type == IndexType::kIvf || params_.type == IndexType::kIvfPq) {
      ivf_params.nprobe = static_cast<size_t>(params_.nprobe);
      search_params = &ivf_params;
      if (params_.type == IndexType::kIvfPq) fetch = want * kPqRerankFactor + kExtraCandidates;
    }
    search_params->sel = sel;
    fetch = std::min(fetch, slots);
    std::vector<faiss::Index::idx_t> labels(fetch);
    std::vector<float> distances(fetch);
    index_->search(1, query, fetch, distances.data(), labels.data(), search_params);
    hits.reserve(fetch);
    for (const auto slot : labels)
      if (slot >= 0 && slot < slots && selector.is_member(slot))
        hits.push_back({slot_row_[slot], exact_score(query, slot)});
  }
  if (static_cast<int64_t>(hits.size()) < want) {
    // The index could not reach enough items (lists not probed, a graph walk among excluded items): every
    // eligible item, scored exactly.
    hits.clear();
    for (int64_t slot = 0; slot < slots; ++slot)
      if (selector.is_member(slot)) hits.push_back({slot_row_[slot], exact_score(query, slot)});
  }
  const auto keep = hits.begin() + std::min<int64_t>(want, static_cast<int64_t>(hits.size()));
  std::partial_sort(hits.begin(), keep, hits.end(), better);
  hits.erase(keep, hits.end());
  return hits;
}

std::vector<std::vector<SearchHit>> ItemIndex::search(const torch::Tensor& queries, int64_t k,
                                                      const std::vector<const std::vector<int64_t>*>& excluded) const {
  if (k < 1) throw Error("k must be at least 1, got " + std::to_string(k));
  if (queries.dim() != 2 || queries.size(1) != identity_.dim || queries.scalar_type() != torch::kFloat32)
    throw Error("queries must be (B, " + std::to_string(identity_.dim) + ") float32 embeddings");
  const int64_t n = queries.size(0);
  if (!excluded.empty() && static_cast<int64_t>(excluded.size()) != n)
    throw Error("excluded lists one entry per query (" + std::to_string(excluded.size()) + " for " + std::to_string(n) +
                " queries)");
  const auto q = queries.to(torch::kCPU).contiguous();
  const float* data = q.data_ptr<float>();
  std::vector<std::vector<SearchHit>> out(n);
  std::string failure;
  std::mutex failure_mutex;
  // Queries are independent: one FAISS search each (each has its own selector), spread over the threads.
  at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      try {
        out[b] = search_one(data + b * identity_.dim, k, excluded.empty() ? nullptr : excluded[b]);
      } catch (const faiss::FaissException& e) {
        const std::lock_guard<std::mutex> lock(failure_mutex);
        failure = e.what();
      }
    }
  });
  if (!failure.empty()) throw Error("the " + describe() + " index failed to search: " + failure);
  return out;
}

void ItemIndex::upsert(int64_t item_row, const torch::Tensor& embedding) {
  if (embedding.dim() != 1 || embedding.size(0) != identity_.dim || embedding.scalar_type() != torch::kFloat32)
    throw Error("an item's embedding must be (" + std::to_string(identity_.dim) + ") float32");
  if (item_row < 0 || item_row > rows())
    throw Error("item row " + std::to_string(item_row) + " is out of range: the catalog has rows 0.." +
                std::to_string(rows() - 1) + " and a new item takes row " + std::to_string(rows()));
  if (item_row < rows() && row_slot_[item_row] < 0)
    throw Error("item row " + std::to_string(item_row) +
                " was removed, and removed rows are not reused; a new item "
                "takes row " +
                std::to_string(rows()));
  const auto v = embedding.to(torch::kCPU).contiguous();
  if (!torch::isfinite(v).all().item<bool>())
    throw Error("the embedding of item row " + std::to_string(item_row) + " is not finite");
  try {
    add_slots(v.data_ptr<float>(), {item_row}, {});
  } catch (const faiss::FaissException& e) {
    throw Error("adding item row " + std::to_string(item_row) + " to the index failed: " + e.what());
  }
}

void ItemIndex::set_search_value(int64_t value) {
  params_.set_search_value(value);
  if (auto* hnsw = dynamic_cast<faiss::IndexHNSW*>(index_.get()))
    hnsw->hnsw.efSearch = static_cast<int>(params_.ef_search);
  if (auto* ivf = dynamic_cast<faiss::IndexIVF*>(index_.get())) ivf->nprobe = static_cast<size_t>(params_.nprobe);
}

void ItemIndex::remove(int64_t item_row) {
  if (item_row < 0 || item_row >= rows() || row_slot_[item_row] < 0) return;
  slot_live_[row_slot_[item_row]] = 0;
  row_slot_[item_row] = -1;
  --live_;
}

}  // namespace ftmamba::serve
