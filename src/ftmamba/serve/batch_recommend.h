// defines: recommend_to_output, `ftmamba recommend --all | --users FILE`: the top-k of many users, ranked in
// blocks and streamed to a CSV or JSON-lines file (written atomically) or to stdout; and BatchFormat.
#pragma once
#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "ftmamba/core/enum_text.h"
#include "ftmamba/core/log.h"

namespace ftmamba::serve {

enum class BatchFormat {
  kCsv,    // header user,rank,item,score; one row per recommended item
  kJsonl,  // {"user": ..., "items": [{"item": ..., "score": ...}, ...]} per user
};

}  // namespace ftmamba::serve

template <>
struct ftmamba::EnumText<ftmamba::serve::BatchFormat> {
  static constexpr std::string_view what = "format";
  static constexpr std::array<std::pair<serve::BatchFormat, std::string_view>, 2> names{{
      {serve::BatchFormat::kCsv, "csv"},
      {serve::BatchFormat::kJsonl, "jsonl"},
  }};
};

namespace ftmamba::serve {

inline constexpr const char* kStdout = "-";

struct BatchRequest {
  std::filesystem::path run_dir;
  std::filesystem::path data_dir;  // empty: what the run stores, else the dataset it was trained on
  bool all_users = false;          // every user, in the data's order; else the ids of users_file
  std::filesystem::path users_file;
  bool skip_unknown = false;  // an unknown id of users_file is a warning rather than an error
  int64_t k = 10;
  bool include_seen = false;
  std::string out = kStdout;          // a file (never replaced unless force), or "-" for stdout
  std::optional<BatchFormat> format;  // default: jsonl when out ends in .jsonl, else csv
  bool force = false;
  int64_t block = 1024;   // users encoded and scored together: a (block, n_items) score matrix
  bool progress = false;  // a progress line on stderr (only drawn on a terminal)
};

struct BatchSummary {
  std::string out;
  BatchFormat format = BatchFormat::kCsv;
  int64_t users = 0, items = 0, k = 0, skipped_unknown = 0, rows = 0;  // rows: recommended items written
  double load_seconds = 0, rank_seconds = 0, seconds = 0;  // the run and its data; ranking and writing; both
};

// The format request.out gets: request.format, else by its extension.
BatchFormat batch_format(const BatchRequest& request);

// Checks the output first (an existing file without force is refused before anything loads), loads the
// Recommender, reads the users, and writes each block as it is ranked. Throws Error naming the file or user at
// fault; a file output then does not appear (its temporary file is removed).
BatchSummary recommend_to_output(const BatchRequest& request, torch::Device device, const Log& warn);

nlohmann::ordered_json to_json(const BatchSummary& summary);

}  // namespace ftmamba::serve
