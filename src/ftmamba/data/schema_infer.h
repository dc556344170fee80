// defines: infer_schema, which reads a dataset folder's users.csv, items.csv and interactions.csv and decides a
// schema.toml from their contents (id columns, feature types, multi-valued columns, timestamp, weight), with
// one decision and its reason per column; and write_inferred_schema, what `ftmamba schema infer` does.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "ftmamba/core/enum_text.h"
#include "ftmamba/data/schema.h"

namespace ftmamba::data {

enum class ColumnRole {
  kId,           // the users' or items' id
  kNumerical,    // a numerical feature
  kCategorical,  // a categorical feature
  kMultiValued,  // a categorical feature with several values a cell
  kUser,         // interactions: the user id
  kItem,         // interactions: the item id
  kTimestamp,    // interactions: the time
  kWeight,       // interactions: the weight
  kSkipped,      // not in the schema (the reason says why)
};

}  // namespace ftmamba::data

namespace ftmamba {
template <>
struct EnumText<data::ColumnRole> {
  static constexpr std::string_view what = "column role";
  static constexpr std::array<std::pair<data::ColumnRole, std::string_view>, 9> names{{
      {data::ColumnRole::kId, "id"},
      {data::ColumnRole::kNumerical, "numerical"},
      {data::ColumnRole::kCategorical, "categorical"},
      {data::ColumnRole::kMultiValued, "multi_valued"},
      {data::ColumnRole::kUser, "user"},
      {data::ColumnRole::kItem, "item"},
      {data::ColumnRole::kTimestamp, "timestamp"},
      {data::ColumnRole::kWeight, "weight"},
      {data::ColumnRole::kSkipped, "skipped"},
  }};
};
}  // namespace ftmamba

namespace ftmamba::data {

// What was decided for one column, and from what evidence.
struct ColumnDecision {
  std::string file;    // "users.csv", "items.csv" or "interactions.csv"
  std::string column;  // as in the header
  ColumnRole role = ColumnRole::kSkipped;
  std::string reason;  // one line, e.g. "every non-empty cell is a number (412 distinct)"
};

struct InferredSchema {
  Schema schema;
  std::vector<ColumnDecision> decisions;   // users.csv, items.csv, interactions.csv, each in header order
  int64_t sample_rows = 0;                 // the most rows read from each table
  std::vector<std::string> sampled_files;  // the tables that had more rows than were read
};

inline constexpr int64_t kDefaultSchemaSampleRows = 100000;

// Reads the first `sample_rows` rows of DIR/users.csv, items.csv and interactions.csv and decides the schema:
//   ids          the users' (items') id is a column whose values are unique and that interactions.csv shares by
//                name, or else by values; the interactions' user (item) column is the one holding those ids;
//   features     numbers -> numerical, except few whole numbers (codes such as 0/1 or 1..5) and whole numbers
//                named like a code (product_type_no, colour_group_code) -> categorical;
//                text -> categorical, or multi_valued when many cells split on '|', ';' or ',' into values that
//                repeat far more than the whole cells do; text with nearly one value per row is skipped;
//   timestamp    ISO dates, or numbers in a column named like a time (ts, time, timestamp, date);
//   weight       non-negative numbers in a column named like rating, weight, plays, count or score.
// Throws DataError naming file, line and column for a malformed table, and when no id column can be found.
InferredSchema infer_schema(const std::filesystem::path& data_dir, int64_t sample_rows = kDefaultSchemaSampleRows);

// The schema as schema.toml text, behind a comment block that lists every decision and its reason.
std::string inferred_schema_toml(const InferredSchema& inferred);

struct SchemaInferRequest {
  std::filesystem::path data_dir;
  std::filesystem::path out;  // empty: data_dir / "schema.toml"
  bool force = false;         // replace an existing file at out
  int64_t sample_rows = kDefaultSchemaSampleRows;
};

struct SchemaInferResult {
  InferredSchema inferred;
  std::filesystem::path written;
};

// infer_schema, then inferred_schema_toml written atomically (io::write_file_atomic). An existing file at out
// is refused (Error) before any table is read, unless request.force.
SchemaInferResult write_inferred_schema(const SchemaInferRequest& request);

}  // namespace ftmamba::data
