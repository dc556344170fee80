// defines: InferenceData, what answering recommendations needs besides the model (the users' and items' ids
// and encoded features, each user's seen items, the user columns a new user may give), and the run folder's
// copy of it, inference.safetensors, written at train time so that a run recommends without its dataset.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

#include "ftmamba/data/dataset.h"
#include "ftmamba/data/preprocess.h"
#include "ftmamba/data/schema.h"

namespace ftmamba::run {

struct Run;
struct PreparedData;

// The run folder's file: tensors users.* / items.* (numerical F32, missing U8, categorical I32),
// seen.offsets (n_users + 1) I64 and seen.items I32, user_ids.* / item_ids.* (bytes U8, offsets I64);
// metadata format, version and user_schema (JSON: id, numerical, categorical).
inline constexpr const char* kInferenceFile = "inference.safetensors";

struct InferenceData {
  // Where the users and items came from, for messages: DATA/users.csv or RUN/inference.safetensors.
  std::filesystem::path users_source, items_source;
  data::TableSchema user_schema;  // the columns a new user's --feature may name
  std::vector<std::string> user_ids, item_ids;
  std::unordered_map<std::string, int64_t> user_index;  // id -> row
  data::EncodedFeatures users, items;                   // encoded with the run's encodings (CPU)
  std::vector<std::vector<int64_t>> seen;               // per user row: item rows, ascending, distinct

  int64_t n_users() const { return static_cast<int64_t>(user_ids.size()); }
  int64_t n_items() const { return static_cast<int64_t>(item_ids.size()); }

  // From a loaded dataset, encoded with the given encodings. Seen items are every interaction, whatever its split.
  static InferenceData from_dataset(const data::Dataset& dataset, const data::FeatureEncoding& user_encoding,
                                    const data::FeatureEncoding& item_encoding);
  // From the data a run trains on (already encoded).
  static InferenceData from_prepared(const PreparedData& data);

  // Writes run_dir/inference.safetensors (atomically).
  void save(const std::filesystem::path& run_dir) const;
  // Reads run_dir/inference.safetensors, checked against the run's encodings: shapes, category indices, seen
  // items in range. Throws Error naming the file.
  static InferenceData load(const std::filesystem::path& run_dir, const data::FeatureEncoding& user_encoding,
                            const data::FeatureEncoding& item_encoding);
};

// What recommending from `run` uses: the dataset at data_dir when one is given; else the run's
// inference.safetensors; else (a run written before it) the dataset the run was trained on. When none is there,
// throws Error naming the missing file and --data.
InferenceData inference_data_for(const Run& run, const std::filesystem::path& data_dir);

}  // namespace ftmamba::run
