// defines: IndexType (flat | hnsw | ivf | ivfpq) and IndexParams, the build and search parameters of an item
// index, with the defaults for a catalog of n items of dimension E and the checks that the catalog is large
// enough to train the chosen type (a clear Error naming the parameter, before FAISS sees anything).
#pragma once
#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "ftmamba/core/enum_text.h"

namespace ftmamba::serve {

enum class IndexType { kFlat, kHnsw, kIvf, kIvfPq };

}  // namespace ftmamba::serve

template <>
struct ftmamba::EnumText<ftmamba::serve::IndexType> {
  static constexpr std::string_view what = "index type";
  static constexpr std::array<std::pair<serve::IndexType, std::string_view>, 4> names{{
      {serve::IndexType::kFlat, "flat"},
      {serve::IndexType::kHnsw, "hnsw"},
      {serve::IndexType::kIvf, "ivf"},
      {serve::IndexType::kIvfPq, "ivfpq"},
  }};
};

namespace ftmamba::serve {

// k-means (the IVF lists, the PQ codebooks) wants at least this many training points per centroid; FAISS warns
// below it, and the clusters it finds are poor.
inline constexpr int64_t kMinPointsPerCentroid = 39;

// What the user asked for: unset values take the defaults of resolve_index_params.
struct IndexRequest {
  IndexType type = IndexType::kHnsw;
  std::optional<int64_t> hnsw_m, ef_construction, ef_search;  // hnsw
  std::optional<int64_t> nlist, nprobe;                       // ivf, ivfpq
  std::optional<int64_t> pq_m, pq_bits;                       // ivfpq
};

// Every parameter set; the ones of other types are 0.
struct IndexParams {
  IndexType type = IndexType::kFlat;
  int64_t hnsw_m = 0, ef_construction = 0, ef_search = 0;
  int64_t nlist = 0, nprobe = 0;
  int64_t pq_m = 0, pq_bits = 0;

  // The search parameter a recall sweep varies: efSearch (hnsw), nprobe (ivf, ivfpq); 0 for flat.
  int64_t search_value() const;
  void set_search_value(int64_t value);
  // "efSearch", "nprobe", or "" for flat.
  std::string search_name() const;
  // "hnsw M=32 efConstruction=100 efSearch=64", "flat".
  std::string describe() const;
};

// Defaults for `n_items` items of dimension `dim`: hnsw M 32, efConstruction 100, efSearch 64; ivf nlist about
// 4 sqrt(n) (at most n / 39, at least 1), nprobe nlist / 16 (at least 1); ivfpq as ivf plus pq_m the largest
// divisor of dim no more than dim / 4 and pq_bits 8 (fewer for a small catalog). Throws Error naming the
// parameter (--nlist, --pq-bits, ...) when a value is out of range or the catalog is too small to train it.
IndexParams resolve_index_params(const IndexRequest& request, int64_t n_items, int64_t dim);

nlohmann::json to_json(const IndexParams& params);
// Throws Error naming `where` (the index.json) for a missing or malformed field.
IndexParams index_params_from_json(const nlohmann::json& j, const std::string& where);

}  // namespace ftmamba::serve
