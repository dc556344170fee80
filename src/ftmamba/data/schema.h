// defines: Schema, the contents of a dataset's schema.toml (id column and feature columns of the users
// and items tables, and the interaction columns), with parsing and validation against the CSV headers.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace ftmamba::data {

struct TableSchema {
  std::string id;                         // id column
  std::vector<std::string> numerical;     // numerical feature columns
  std::vector<std::string> categorical;   // categorical feature columns
  std::vector<std::string> multi_valued;  // categorical columns holding several values, e.g. "Action|Comedy"
  std::string separator = "|";            // between the values of a multi_valued cell
};

struct InteractionSchema {
  std::string user;                      // column holding the user id
  std::string item;                      // column holding the item id
  std::optional<std::string> timestamp;  // a number (larger = later) or an ISO date; see timestamp.h
  std::optional<std::string> weight;     // numeric, optional
};

// [csv], optional: how the table files are read (see table_file.h).
struct CsvSchema {
  std::optional<char> delimiter;  // unset: ',' for NAME.csv, tab for NAME.tsv (csv_format_for)
};

// schema.toml:
//   [users]        id = "user_id"   numerical = [...]   categorical = [...]
//   [items]        id = "item_id"   numerical = [...]   categorical = [...]
//                  multi_valued = ["genres"]   separator = "|"     (either table; separator defaults to "|")
//   [interactions] user = "user_id" item = "item_id"    timestamp = "ts"   weight = "w"
//   [csv]          delimiter = "\t"   (optional)
struct Schema {
  TableSchema users, items;
  InteractionSchema interactions;
  CsvSchema csv;

  // Throws DataError "PATH: key 'users.id': ..." for a missing/mistyped key or an unknown key.
  static Schema load(const std::filesystem::path& path);
  // The [csv] table is written only when it sets something.
  std::string to_toml() const;
};

}  // namespace ftmamba::data
