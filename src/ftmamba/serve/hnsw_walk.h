// defines: hnsw_walk, the search of one query through the graph of a FAISS HNSW index: greedy descent through the
// upper layers, then the beam search of layer 0 (Malkov and Yashunin, Algorithm 2), over the index's own copy of
// the embeddings with the kernels' SIMD inner product. FAISS builds and stores the graph; its own search (1.7.3, a
// portable build) spent a third of a query's time in MinimaxHeap scans linear in efSearch and a quarter in a
// scalar inner product (perf, 1M items, efSearch 512), and allocated a visited table per call.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

namespace faiss {
struct HNSW;
struct IDSelector;
}  // namespace faiss

namespace ftmamba::serve {

// What one walk needs besides the graph, kept between walks (one per concurrent search): the visit marks of every
// slot and the two heaps.
struct HnswScratch {
  std::vector<uint32_t> visited;  // (slots) the walk number that last visited the slot
  uint32_t walk = 0;
  std::vector<std::pair<float, int32_t>> candidates, results;  // heaps of (distance, slot)
};

// The `fetch` slots of the highest inner product with `query` ((dim) floats) that the walk finds, best first, as
// (score, slot); only slots `selector` accepts (null: every slot) are returned, while every slot guides the walk.
// `vectors` holds the graph's slots, (slots, dim) row-major. The beam holds max(ef, fetch) slots.
std::vector<std::pair<float, int64_t>> hnsw_walk(const faiss::HNSW& graph, const float* vectors, int64_t slots,
                                                 int64_t dim, const float* query, int64_t ef, int64_t fetch,
                                                 const faiss::IDSelector* selector, HnswScratch& scratch);

}  // namespace ftmamba::serve
