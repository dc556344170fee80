// defines: CatalogJournal, the live-catalog changes a server has applied (items added or re-encoded from their
// features, items removed), kept so that a reload replays them onto the new state, and, with a catalog log, a
// restarted server too: a catalog that changes every hour keeps its changes when a new model or process takes over.
#pragma once
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ftmamba/core/log.h"
#include "ftmamba/io/append_file.h"
#include "ftmamba/serve/catalog_log.h"
#include "ftmamba/serve/recommender.h"

namespace ftmamba::serve {

class CatalogJournal {
 public:
  // The lock a change and its record are made under, and a reload's replay and swap: a change made while a reload
  // loads goes into the journal before the replay reads it, or waits for the swap and is made on the new state.
  std::mutex& mutex() { return mutex_; }

  // Records, in the order applied (the caller holds mutex()). Only an item's latest change is kept. With a log
  // open, the changes are appended to it and durable before these return (Error naming the file when they cannot
  // be: the change is live, and the next compact_log() writes it).
  void record_upserts(const std::vector<std::pair<std::string, FeatureValues>>& items);
  void record_removal(const std::string& item_id);

  // Applies every recorded change to `recommender` (a freshly loaded state; the caller holds mutex()). An item
  // the new model cannot encode (a feature it no longer has, a non-finite embedding) is logged and dropped from
  // the journal, never a failed reload; a removal of an item the new catalog lacks is nothing to do.
  void replay(Recommender& recommender, const Log& log);

  // Makes the journal durable in the catalog log at `path` (the caller holds mutex()): the changes a previous
  // server logged there are read in (read_catalog_log; Error "PATH:LINE: ..." for a bad line), then replay() and
  // compact_log() are the caller's next steps.
  void open_log(const std::filesystem::path& path, const Log& log);
  // Writes the journal, each item's latest change, over the log in one atomic step and appends there from then on
  // (the caller holds mutex()): after a replay has dropped what the model cannot encode, and after each reload, so
  // that a run folder replaced by a new training run gets its log anew. Nothing to do without a log.
  void compact_log();

  size_t size() const { return order_.size(); }

 private:
  void put(CatalogChange change);

  std::mutex mutex_;
  std::vector<std::string> order_;  // item ids, first change first
  std::unordered_map<std::string, CatalogChange> latest_;
  std::filesystem::path log_path_;       // empty: no log
  std::unique_ptr<io::AppendFile> log_;  // open for appending after compact_log()
};

}  // namespace ftmamba::serve
