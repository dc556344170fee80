// defines: hnsw_walk (see hnsw_walk.h).
#include "ftmamba/serve/hnsw_walk.h"

#include <faiss/impl/HNSW.h>
#include <faiss/impl/IDSelector.h>

#include <algorithm>
#include <functional>

#include "ftmamba/kernels/inner_product_cpu.h"

namespace ftmamba::serve {
namespace {

using Entry = std::pair<float, int32_t>;  // (distance = minus the inner product, slot)

// The neighbours of `slot` at `level`: a slice of the graph's neighbour table, -1 after the last.
std::pair<const int32_t*, const int32_t*> neighbours(const faiss::HNSW& graph, int32_t slot, int level) {
  const size_t base = graph.offsets[static_cast<size_t>(slot)];
  const int32_t* table = graph.neighbors.data();
  return {table + base + graph.cum_nneighbor_per_level[level], table + base + graph.cum_nneighbor_per_level[level + 1]};
}

}  // namespace

std::vector<std::pair<float, int64_t>> hnsw_walk(const faiss::HNSW& graph, const float* vectors, int64_t slots,
                                                 int64_t dim, const float* query, int64_t ef, int64_t fetch,
                                                 const faiss::IDSelector* selector, HnswScratch& scratch) {
  if (graph.entry_point < 0 || slots == 0 || fetch <= 0) return {};
  const auto distance = [&](int32_t slot) {
    return -kernels::inner_product_cpu(query, vectors + static_cast<int64_t>(slot) * dim, dim);
  };
  const auto member = [&](int32_t slot) { return selector == nullptr || selector->is_member(slot); };

  // Upper layers: move to the closest neighbour while one is closer.
  int32_t nearest = graph.entry_point;
  float nearest_distance = distance(nearest);
  for (int level = graph.max_level; level >= 1; --level) {
    for (bool moved = true; moved;) {
      moved = false;
      const auto [begin, end] = neighbours(graph, nearest, level);
      for (const int32_t* n = begin; n != end && *n >= 0; ++n) {
        const float d = distance(*n);
        if (d < nearest_distance) {
          nearest = *n;
          nearest_distance = d;
          moved = true;
        }
      }
    }
  }

  // Layer 0: the beam. `candidates` is a min-heap of slots to expand, `results` a max-heap of the best `beam`
  // accepted slots; the walk stops when the closest candidate is farther than the worst result of a full beam.
  if (static_cast<int64_t>(scratch.visited.size()) < slots) scratch.visited.assign(static_cast<size_t>(slots), 0);
  if (++scratch.walk == 0) {  // the marks wrapped around: clear them
    std::fill(scratch.visited.begin(), scratch.visited.end(), 0);
    scratch.walk = 1;
  }
  const uint32_t mark = scratch.walk;
  auto& visited = scratch.visited;
  auto& candidates = scratch.candidates;
  auto& results = scratch.results;
  candidates.clear();
  results.clear();
  const auto beam = static_cast<size_t>(std::max(ef, fetch));
  const auto closer_first = std::greater<Entry>();  // for the min-heap
  const auto offer = [&](int32_t slot, float d) {
    const bool room = results.size() < beam || d < results.front().first;
    if (!room) return;
    candidates.emplace_back(d, slot);
    std::push_heap(candidates.begin(), candidates.end(), closer_first);
    if (!member(slot)) return;
    results.emplace_back(d, slot);
    std::push_heap(results.begin(), results.end());
    if (results.size() > beam) {
      std::pop_heap(results.begin(), results.end());
      results.pop_back();
    }
  };
  visited[static_cast<size_t>(nearest)] = mark;
  offer(nearest, nearest_distance);
  int32_t fresh[512];  // the unvisited neighbours of one slot (FAISS's layer 0 holds 2 M of them)
  while (!candidates.empty()) {
    const Entry closest = candidates.front();
    if (results.size() >= beam && closest.first > results.front().first) break;
    std::pop_heap(candidates.begin(), candidates.end(), closer_first);
    candidates.pop_back();
    const auto [begin, end] = neighbours(graph, closest.second, 0);
    int count = 0;
    for (const int32_t* n = begin; n != end && *n >= 0 && count < 512; ++n) {
      if (visited[static_cast<size_t>(*n)] == mark) continue;
      visited[static_cast<size_t>(*n)] = mark;
      fresh[count++] = *n;
      // The embedding is read a moment later: ask for its cache lines now, so that the neighbours' loads overlap.
      const float* v = vectors + static_cast<int64_t>(*n) * dim;
      for (int64_t e = 0; e < dim; e += 16) __builtin_prefetch(v + e);
    }
    for (int i = 0; i < count; ++i) offer(fresh[i], distance(fresh[i]));
  }

  std::sort_heap(results.begin(), results.end());  // ascending distance: best first
  if (results.size() > static_cast<size_t>(fetch)) results.resize(static_cast<size_t>(fetch));
  std::vector<std::pair<float, int64_t>> out;
  out.reserve(results.size());
  for (const auto& [d, slot] : results) out.emplace_back(-d, slot);
  return out;
}

}  // namespace ftmamba::serve
