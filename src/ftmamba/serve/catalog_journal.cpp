// defines: CatalogJournal (see catalog_journal.h).
#include "ftmamba/serve/catalog_journal.h"

#include <algorithm>

#include "ftmamba/core/error.h"
#include "ftmamba/io/atomic_file.h"

namespace ftmamba::serve {

void CatalogJournal::put(CatalogChange change) {
  if (latest_.find(change.item_id) == latest_.end()) order_.push_back(change.item_id);
  const std::string id = change.item_id;
  latest_[id] = std::move(change);
}

void CatalogJournal::record_upserts(const std::vector<std::pair<std::string, FeatureValues>>& items) {
  std::string lines;
  for (const auto& [id, features] : items) {
    CatalogChange change{id, false, features};
    if (log_) lines += catalog_log_line(change);
    put(std::move(change));
  }
  if (log_) log_->append(lines);
}

void CatalogJournal::record_removal(const std::string& item_id) {
  CatalogChange change{item_id, true, {}};
  const std::string line = log_ ? catalog_log_line(change) : "";
  put(std::move(change));
  if (log_) log_->append(line);
}

void CatalogJournal::open_log(const std::filesystem::path& path, const Log& log) {
  for (auto& change : read_catalog_log(path, log)) put(std::move(change));
  log_path_ = path;
}

void CatalogJournal::compact_log() {
  if (log_path_.empty()) return;
  std::string text;
  for (const auto& id : order_) text += catalog_log_line(latest_.at(id));
  // The old file stays open for appending until the new one is in place: a failed write loses no later change.
  io::write_file_atomic(log_path_, text);
  log_ = std::make_unique<io::AppendFile>(log_path_);
}

void CatalogJournal::replay(Recommender& recommender, const Log& log) {
  std::vector<std::string> dropped;
  for (const auto& id : order_) {
    const CatalogChange& change = latest_.at(id);
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
