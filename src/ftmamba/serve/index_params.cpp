// defines: IndexParams' text, defaults and checks (see index_params.h).
#include "ftmamba/serve/index_params.h"

#include <algorithm>
#include <cmath>

#include "ftmamba/core/error.h"

namespace ftmamba::serve {
namespace {

// The largest value any parameter takes: far beyond any sensible index, small enough that no product overflows.
constexpr int64_t kMaxParam = 1 << 20;

int64_t checked(const std::optional<int64_t>& given, int64_t fallback, const char* option, int64_t min,
                int64_t max = kMaxParam) {
  const int64_t v = given.value_or(fallback);
  if (v < min || v > max)
    throw Error(std::string(option) + " must be between " + std::to_string(min) + " and " + std::to_string(max) +
                " (got " + std::to_string(v) + ")");
  return v;
}

// --nlist: given, or about 4 sqrt(n), at most n / 39 so that every list has its training points.
int64_t resolve_nlist(const IndexRequest& r, int64_t n_items, const char* type) {
  const int64_t most = n_items / kMinPointsPerCentroid;
  if (most < 1)
    throw Error("the catalog has " + std::to_string(n_items) + " items; an " + type + " index needs at least " +
                std::to_string(kMinPointsPerCentroid) + " items per list to train --nlist lists (at least " +
                std::to_string(kMinPointsPerCentroid) + " items for --nlist 1): use --type flat or hnsw");
  const int64_t fallback = std::clamp<int64_t>(std::llround(4.0 * std::sqrt(static_cast<double>(n_items))), 1, most);
  const int64_t nlist = checked(r.nlist, fallback, "--nlist", 1);
  if (nlist > most)
    throw Error("--nlist " + std::to_string(nlist) + " is too large for a catalog of " + std::to_string(n_items) +
                " items: training wants at least " + std::to_string(kMinPointsPerCentroid) +
                " items per list, so --nlist can be at most " + std::to_string(most));
  return nlist;
}

}  // namespace

int64_t IndexParams::search_value() const {
  switch (type) {
    case IndexType::kHnsw:
      return ef_search;
    case IndexType::kIvf:
    case IndexType::kIvfPq:
      return nprobe;
    case IndexType::kFlat:
      break;
  }
  return 0;
}

void IndexParams::set_search_value(int64_t value) {
  if (type == IndexType::kHnsw) ef_search = value;
  if (type == IndexType::kIvf || type == IndexType::kIvfPq) nprobe = std::min(value, nlist);
}

std::string IndexParams::search_name() const {
  if (type == IndexType::kHnsw) return "efSearch";
  if (type == IndexType::kIvf || type == IndexType::kIvfPq) return "nprobe";
  return "";
}

std::string IndexParams::describe() const {
  const auto kv = [](const char* k, int64_t v) { return std::string(" ") + k + "=" + std::to_string(v); };
  std::string out = enum_name(type);
  switch (type) {
    case IndexType::kFlat:
      break;
    case IndexType::kHnsw:
      out += kv("M", hnsw_m) + kv("efConstruction", ef_construction) + kv("efSearch", ef_search);
      break;
    case IndexType::kIvf:
      out += kv("nlist", nlist) + kv("nprobe", nprobe);
      break;
    case IndexType::kIvfPq:
      out += kv("nlist", nlist) + kv("m", pq_m) + kv("nbits", pq_bits) + kv("nprobe", nprobe);
      break;
  }
  return out;
}

IndexParams resolve_index_params(const IndexRequest& r, int64_t n_items, int64_t dim) {
  IndexParams p;
  p.type = r.type;
  if (n_items < 1) throw Error("the catalog has no items to index");
  const auto unused = [&](const std::optional<int64_t>& v, const char* option) {
    if (v) throw Error(std::string(option) + " does not apply to a " + enum_name(r.type) + " index");
  };
  if (r.type != IndexType::kHnsw) {
    unused(r.hnsw_m, "--M");
    unused(r.ef_construction, "--ef-construction");
    unused(r.ef_search, "--ef-search");
  }
  if (r.type != IndexType::kIvf && r.type != IndexType::kIvfPq) {
    unused(r.nlist, "--nlist");
    unused(r.nprobe, "--nprobe");
  }
  if (r.type != IndexType::kIvfPq) {
    unused(r.pq_m, "--pq-m");
    unused(r.pq_bits, "--pq-bits");
  }
  switch (r.type) {
    case IndexType::kFlat:
      break;
    case IndexType::kHnsw:
      p.hnsw_m = checked(r.hnsw_m, 32, "--M", 2, 512);
      p.ef_construction = checked(r.ef_construction, 100, "--ef-construction", 1);
      p.ef_search = checked(r.ef_search, 64, "--ef-search", 1);
      break;
    case IndexType::kIvf:
    case IndexType::kIvfPq: {
      const char* type = r.type == IndexType::kIvf ? "ivf" : "ivfpq";
      p.nlist = resolve_nlist(r, n_items, type);
      p.nprobe = checked(r.nprobe, std::max<int64_t>(1, p.nlist / 16), "--nprobe", 1);
      if (p.nprobe > p.nlist)
        throw Error("--nprobe " + std::to_string(p.nprobe) + " is more than --nlist " + std::to_string(p.nlist) +
                    " (the lists searched are at most the lists there are)");
      if (r.type == IndexType::kIvf) break;
      int64_t fallback_m = 1;
      for (int64_t m = 1; m <= std::max<int64_t>(1, dim / 4); ++m)
        if (dim % m == 0) fallback_m = m;
      p.pq_m = checked(r.pq_m, fallback_m, "--pq-m", 1, dim);
      if (dim % p.pq_m != 0)
        throw Error("--pq-m " + std::to_string(p.pq_m) + " must divide the embedding dimension " + std::to_string(dim) +
                    " (each sub-quantizer codes dim / m values)");
      // 8 bits (256 centroids per sub-quantizer) when the catalog trains them, else fewer.
      int64_t fallback_bits = 8;
      while (fallback_bits > 1 && n_items < kMinPointsPerCentroid << fallback_bits) --fallback_bits;
      p.pq_bits = checked(r.pq_bits, fallback_bits, "--pq-bits", 1, 16);
      const int64_t needed = kMinPointsPerCentroid << p.pq_bits;
      if (n_items < needed)
        throw Error("--pq-bits " + std::to_string(p.pq_bits) + " is too many for a catalog of " +
                    std::to_string(n_items) + " items: training 2^" + std::to_string(p.pq_bits) +
                    " centroids per sub-quantizer wants at least " + std::to_string(needed) + " items");
      break;
    }
  }
  return p;
}

nlohmann::json to_json(const IndexParams& p) {
  nlohmann::json j = {{"type", enum_name(p.type)}};
  if (p.type == IndexType::kHnsw) {
    j["M"] = p.hnsw_m;
    j["efConstruction"] = p.ef_construction;
    j["efSearch"] = p.ef_search;
  }
  if (p.type == IndexType::kIvf || p.type == IndexType::kIvfPq) {
    j["nlist"] = p.nlist;
    j["nprobe"] = p.nprobe;
  }
  if (p.type == IndexType::kIvfPq) {
    j["m"] = p.pq_m;
    j["nbits"] = p.pq_bits;
  }
  return j;
}

IndexParams index_params_from_json(const nlohmann::json& j, const std::string& where) {
  const auto field = [&](const char* key) -> int64_t {
    if (!j.contains(key) || !j[key].is_number_integer() || j[key].get<int64_t>() < 1 ||
        j[key].get<int64_t>() > kMaxParam)
      throw Error(where + ": params." + key + " must be an integer between 1 and " + std::to_string(kMaxParam));
    return j[key].get<int64_t>();
  };
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
    throw Error(where + ": params.type must be one of " + enum_choices<IndexType>());
  IndexParams p;
  if (!try_parse_enum(j["type"].get<std::string>(), p.type))
    throw Error(where + ": params.type must be one of " + enum_choices<IndexType>());
  if (p.type == IndexType::kHnsw) {
    p.hnsw_m = field("M");
    p.ef_construction = field("efConstruction");
    p.ef_search = field("efSearch");
  }
  if (p.type == IndexType::kIvf || p.type == IndexType::kIvfPq) {
    p.nlist = field("nlist");
    p.nprobe = std::min(field("nprobe"), p.nlist);
  }
  if (p.type == IndexType::kIvfPq) {
    p.pq_m = field("m");
    p.pq_bits = field("nbits");
  }
  return p;
}

}  // namespace ftmamba::serve
