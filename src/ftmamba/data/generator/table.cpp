// defines: Table's column builders, ids and lookups; rounded and format_number.
#include "ftmamba/data/generator/table.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "ftmamba/core/error.h"

namespace ftmamba::data::gen {

Column& Table::add_numerical(std::string name, int decimals, double missing_rate) {
  Column& c = columns.emplace_back();
  c.name = std::move(name);
  c.decimals = decimals;
  c.missing_rate = missing_rate;
  return c;
}

Column& Table::add_categorical(std::string name, double missing_rate) {
  Column& c = columns.emplace_back();
  c.name = std::move(name);
  c.categorical = true;
  c.missing_rate = missing_rate;
  return c;
}

Column& Table::add_extra(std::string name, double missing_rate) {
  Column& c = add_categorical(std::move(name), missing_rate);
  c.feature = false;
  return c;
}

std::string Table::id(int64_t row) const {
  if (id_format) return id_format(row);
  const int width = std::max<int>(5, static_cast<int>(std::to_string(rows()).size()));
  return fmt::format("{}{:0{}d}", id_prefix, row + 1, width);
}

const Column& Table::column(const std::string& name) const {
  for (const Column& c : columns)
    if (c.name == name) return c;
  throw Error("generator: table '" + id_column + "' has no column '" + name + "'");
}

int64_t Table::rows() const {
  if (columns.empty()) return 0;
  const Column& c = columns.front();
  return static_cast<int64_t>(c.categorical ? c.cat.size() : c.num.size());
}

double rounded(double v, int decimals) {
  const double p = std::pow(10.0, decimals);
  return std::round(v * p) / p + 0.0;  // + 0.0 turns -0 into 0
}

std::string format_number(double v, int decimals) { return fmt::format("{:.{}f}", rounded(v, decimals), decimals); }

}  // namespace ftmamba::data::gen
