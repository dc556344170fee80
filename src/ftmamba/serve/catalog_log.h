// defines: the catalog log, the file that makes a live catalog's changes outlive the server (`ftmamba serve
// --catalog-log`): one JSON line per change, the item's features as the server stored them or its removal,
// appended and made durable before the change is acknowledged, read back by the next server.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "ftmamba/core/log.h"
#include "ftmamba/serve/feature_values.h"

namespace ftmamba::serve {

// The log's file in the run folder, where `ftmamba serve` keeps it unless told otherwise.
inline constexpr const char* kCatalogLogFile = "catalog_changes.jsonl";

// {"item_id": "I9", "features": {"genre": "drama|crime", "price": "3.5"}} or {"item_id": "I9", "removed": true}
struct CatalogChange {
  std::string item_id;
  bool removed = false;
  FeatureValues features;  // when not removed; values as text, as the server stores them
};

// The line of one change, with its newline.
std::string catalog_log_line(const CatalogChange& change);

// The changes of the log at `path`, in order ([] when the file does not exist). A last line without its newline is
// a change the writer did not finish (it stopped mid-write, so the change was never acknowledged): logged and
// skipped. Any other bad line is an Error "PATH:LINE: ..." naming the key at fault.
std::vector<CatalogChange> read_catalog_log(const std::filesystem::path& path, const Log& log);

}  // namespace ftmamba::serve
