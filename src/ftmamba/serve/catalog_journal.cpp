// defines: CatalogJournal (see catalog_journal.h).
#include "ftmamba/serve/catalog_journal.h"

#include <algorithm>

#include "ftmamba/core/error.h"

namespace ftmamba::serve {

void CatalogJournal::put(const std::string& item_id, Change change) {
  if (latest_.find(item_id) == latest_.end()) order_.push_back(item_id);
  latest_[item_id] = std::move(change);
}

void CatalogJournal::record_upserts(const std::vector<std::pair<std::string, FeatureValues>>& items) {
  for (const auto& [id, features] : items) put(id, Change{false, features});
}

void CatalogJournal::record_removal(const std::string& item_id) { put(item_id, Change{true, {}}); }

void CatalogJournal::replay(Recommender& recommender, const Log& log) {
  std::vector<std::string> dropped;
  for (const auto& id : order_) {
    const Change& change = latest_.at(id);
    if (change.removed) {
      recommender.remove_item(id);
      continue;
    }
    try {
      recommender.upsert_item(id, change.features);
    } catch (const Error& e) {
      if (log) log(std::string("serve: reload: item '") + id + "' added since the start is dropped: " + e.what());
      dropped.push_back(id);
    }
  }
  for (const auto& id : dropped) {
    latest_.erase(id);
    order_.erase(std::find(order_.begin(), order_.end(), id));
  }
}

}  // namespace ftmamba::serve
