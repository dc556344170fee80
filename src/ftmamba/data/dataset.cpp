// defines: load_feature_table and Dataset::load: the dataset folder read into memory, with every
// cell checked (ids present and unique, numbers finite, interaction ids known).
#include "ftmamba/data/dataset.h"

#include <cmath>
#include <limits>

#include "ftmamba/core/error.h"
#include "ftmamba/data/csv.h"
#include "ftmamba/data/multi_valued.h"
#include "ftmamba/data/timestamp.h"

namespace ftmamba::data {
namespace {

namespace fs = std::filesystem;

// A schema column that the CSV header lacks is reported at the header line, with what is there.
int schema_column(const CsvTable& t, const std::string& name, const std::string& role) {
  if (const auto c = t.find_column(name)) return *c;
  std::string have;
  for (const auto& h : t.header) have += (have.empty() ? "" : ", ") + h;
  throw DataError(
      t.path, 1, name,
      "missing column '" + name + "', which schema.toml names as " + role + " (the header has: " + have + ")");
}

void require_rows(const CsvTable& t) {
  if (t.size() == 0) throw DataError(t.path, 2, "", "table has no rows, only a header");
}

Interactions load_interactions(const TableFile& file, const InteractionSchema& schema, const Dataset& d) {
  const FeatureTable& users = d.users;
  const FeatureTable& items = d.items;
  const CsvTable t = read_csv(file.path, file.format);
  const int uc = schema_column(t, schema.user, "interactions.user");
  const int ic = schema_column(t, schema.item, "interactions.item");
  const int tc = schema.timestamp ? schema_column(t, *schema.timestamp, "interactions.timestamp") : -1;
  const int wc = schema.weight ? schema_column(t, *schema.weight, "interactions.weight") : -1;
  require_rows(t);

  Interactions out;
  const auto n = static_cast<size_t>(t.size());
  out.user.reserve(n);
  out.item.reserve(n);
  out.timestamp.reserve(n);
  out.weight.reserve(n);
  const auto lookup = [&](const FeatureTable& side, int64_t r, int c, const char* what, const fs::path& file) {
    const std::string& id = t.rows[r][c];
    if (id.empty()) throw DataError(t.path, t.line_of_row[r], t.header[c], std::string("missing ") + what + " id");
    const auto it = side.index.find(id);
    if (it == side.index.end()) {
      throw DataError(t.path, t.line_of_row[r], t.header[c],
                      std::string(what) + " id " + quote_for_message(id) + " is not in " + file.filename().string());
    }
    return it->second;
  };
  for (int64_t r = 0; r < t.size(); ++r) {
    out.user.push_back(lookup(users, r, uc, "user", d.users_file.path));
    out.item.push_back(lookup(items, r, ic, "item", d.items_file.path));
    double ts = static_cast<double>(r);  // without a timestamp column, file order is time order
    if (tc >= 0) {
      // A number or an ISO date (real logs such as H&M's t_dat carry dates).
      const std::string& cell = t.rows[r][tc];
      std::string why;
      const auto v = parse_timestamp(cell, &why);
      if (!v) throw DataError(t.path, t.line_of_row[r], t.header[tc], why.empty() ? "missing timestamp" : why);
      ts = *v;
    }
    double w = 1.0;
    if (wc >= 0) {
      const auto v = parse_number(t, r, wc);
      if (v && *v < 0) {
        throw DataError(t.path, t.line_of_row[r], t.header[wc], "negative weight " + quote_for_message(t.rows[r][wc]));
      }
      if (v) w = *v;
    }
    out.timestamp.push_back(ts);
    out.weight.push_back(w);
  }
  return out;
}

}  // namespace

FeatureTable load_feature_table(const TableFile& file, const TableSchema& schema) {
  const CsvTable t = read_csv(file.path, file.format);
  const int idc = schema_column(t, schema.id, "the id column");
  std::vector<int> num_cols, cat_cols;
  for (const auto& name : schema.numerical) num_cols.push_back(schema_column(t, name, "a numerical feature"));
  for (const auto& name : schema.categorical) cat_cols.push_back(schema_column(t, name, "a categorical feature"));
  std::vector<int> multi_cols;
  for (const auto& name : schema.multi_valued)
    multi_cols.push_back(schema_column(t, name, "a multi-valued categorical feature"));
  require_rows(t);

  FeatureTable f;
  f.numerical_names = schema.numerical;
  f.categorical_names = schema.categorical;
  const auto n = static_cast<size_t>(t.size());
  f.ids.reserve(n);
  f.index.reserve(n);
  f.numerical.reserve(n * num_cols.size());
  f.categorical.reserve(n * cat_cols.size());
  f.multi_valued_names = schema.multi_valued;
  f.separator = schema.separator;
  f.multi_valued.reserve(n * multi_cols.size());
  for (int64_t r = 0; r < t.size(); ++r) {
    const std::string& id = t.rows[r][idc];
    if (id.empty()) throw DataError(t.path, t.line_of_row[r], schema.id, "missing id");
    const auto [it, fresh] = f.index.emplace(id, r);
    if (!fresh) {
      throw DataError(t.path, t.line_of_row[r], schema.id,
                      "duplicate id " + quote_for_message(id) + " (first on line " +
                          std::to_string(t.line_of_row[it->second]) + ")");
    }
    f.ids.push_back(id);
    for (const int c : num_cols) {
      const auto v = parse_number(t, r, c);
      f.numerical.push_back(v ? *v : std::numeric_limits<double>::quiet_NaN());
    }
    for (const int c : cat_cols) f.categorical.push_back(t.rows[r][c]);
    for (const int c : multi_cols) {
      if (split_values(t.rows[r][c], schema.separator).size() > static_cast<size_t>(kMaxValuesPerCell))
        throw DataError(
            t.path, t.line_of_row[r], t.header[c],
            "more than " + std::to_string(kMaxValuesPerCell) + " values separated by '" + schema.separator + "'");
      f.multi_valued.push_back(t.rows[r][c]);
    }
  }
  return f;
}

Dataset Dataset::load(const std::filesystem::path& dir) {
  Dataset d;
  d.dir = dir;
  d.schema = Schema::load(dir / "schema.toml");
  // Every table's file is found before any is read: a missing or doubled file is reported at once.
  d.users_file = find_table_file(dir, "users", d.schema.csv.delimiter);
  d.items_file = find_table_file(dir, "items", d.schema.csv.delimiter);
  d.interactions_file = find_table_file(dir, "interactions", d.schema.csv.delimiter);
  d.users = load_feature_table(d.users_file, d.schema.users);
  d.items = load_feature_table(d.items_file, d.schema.items);
  d.interactions = load_interactions(d.interactions_file, d.schema.interactions, d);
  return d;
}

}  // namespace ftmamba::data
