// defines: CatalogJournal, the live-catalog changes a server has applied since it started (items added or
// re-encoded from their features, items removed), kept so that a reload replays them onto the new state: a catalog
// that changes every hour keeps its changes when a new model takes over.
#pragma once
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ftmamba/core/log.h"
#include "ftmamba/serve/recommender.h"

namespace ftmamba::serve {

class CatalogJournal {
 public:
  // The lock a change and its record are made under, and a reload's replay and swap: a change made while a reload
  // loads goes into the journal before the replay reads it, or waits for the swap and is made on the new state.
  std::mutex& mutex() { return mutex_; }

  // Records, in the order applied (the caller holds mutex()). Only an item's latest change is kept.
  void record_upserts(const std::vector<std::pair<std::string, FeatureValues>>& items);
  void record_removal(const std::string& item_id);

  // Applies every recorded change to `recommender` (a freshly loaded state; the caller holds mutex()). An item
  // the new model cannot encode (a feature it no longer has, a non-finite embedding) is logged and dropped from
  // the journal, never a failed reload; a removal of an item the new catalog lacks is nothing to do.
  void replay(Recommender& recommender, const Log& log);

  size_t size() const { return order_.size(); }

 private:
  struct Change {
    bool removed = false;
    FeatureValues features;  // the latest features, when not removed
  };
  void put(const std::string& item_id, Change change);

  std::mutex mutex_;
  std::vector<std::string> order_;  // item ids, first change first
  std::unordered_map<std::string, Change> latest_;
};

}  // namespace ftmamba::serve
