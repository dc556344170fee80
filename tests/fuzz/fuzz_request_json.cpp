// Fuzz target: the HTTP server's request parsers (serve/request_json.cpp). The first byte picks the endpoint
// (recommend, batch, similar items, items); the rest is the body. A RequestError is the expected refusal; a request
// that parses must satisfy the limits it was checked against.
#include <cstdlib>
#include <string_view>

#include "ftmamba/serve/request_json.h"
#include "fuzz_input.h"

using namespace ftmamba;

namespace {

serve::FeatureColumns columns() {
  serve::FeatureColumns c;
  c.numerical = {"age", "income"};
  c.categorical = {"country"};
  c.multi_valued = {"genres"};
  return c;
}

void check(const serve::RecommendRequest& r, const serve::RequestLimits& limits) {
  if (r.k < 1 || r.k > limits.max_k) std::abort();
  if (r.user_id.empty() && !r.has_features) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const serve::FeatureColumns user = columns();
  serve::RequestLimits limits;
  limits.max_k = 100;
  limits.max_batch = 8;
  limits.max_body_bytes = 4096;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  fuzz::parse_or_reject([&] {
    switch (data[0] % 4) {
      case 0:
        check(serve::parse_recommend_request(body, user, limits), limits);
        break;
      case 1: {
        const auto batch = serve::parse_batch_request(body, user, limits);
        if (batch.empty() || static_cast<int64_t>(batch.size()) > limits.max_batch) std::abort();
        for (const auto& r : batch) check(r, limits);
        break;
      }
      case 2: {
        const auto r = serve::parse_similar_items_request(body, limits);
        if (r.item_id.empty() || r.k < 1 || r.k > limits.max_k) std::abort();
        break;
      }
      default: {
        const auto items = serve::parse_items_request(body, user, limits);
        if (items.empty() || static_cast<int64_t>(items.size()) > limits.max_batch) std::abort();
        for (const auto& it : items)
          if (it.item_id.empty()) std::abort();
      }
    }
  });
  return 0;
}
