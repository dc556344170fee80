// defines: gen::Column and gen::Table, an entity table (users or items) as a preset builds it, and how
// a numerical cell is rounded (the value the model sees) and written.
#pragma once
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

namespace ftmamba::data::gen {

// One column of an entity table. Values are the truth that drives the model; the CSV shows them
// rounded to `decimals` (the model sees the rounded value too) and blanks a `missing_rate` share.
struct Column {
  std::string name;
  bool categorical = false;
  // false: a column written to the CSV as text (in `cat`) that is not a model feature: absent from
  // schema.toml and from every effect (product names, descriptions, numeric codes beside their names).
  bool feature = true;
  // Categorical: "" is a level of its own, written blank and driving preferences like any level (H&M
  // writes FN as "1.0" or nothing). Unlike missing_rate blanks, the oracle knows what it means.
  bool blank_level = false;
  int decimals = 0;              // numerical only
  double missing_rate = 0.0;     // share of cells written blank (the truth still drives preferences)
  std::vector<double> num;       // numerical values, one per row
  std::vector<std::string> cat;  // categorical levels (or extra text), one per row
};

// An entity table (users or items) as a preset builds it. Ids are written as prefix + row number
// unless the preset gives its own format (they must be unique and non-empty).
struct Table {
  std::string id_column;                              // e.g. "user_id"
  std::string id_prefix;                              // e.g. "U"
  std::function<std::string(int64_t row)> id_format;  // optional, e.g. H&M's 10-digit article ids
  std::deque<Column> columns;                         // deque: references returned by add_* stay valid

  Column& add_numerical(std::string name, int decimals, double missing_rate = 0.0);
  Column& add_categorical(std::string name, double missing_rate = 0.0);
  Column& add_extra(std::string name, double missing_rate = 0.0);  // written text, not a feature
  const Column& column(const std::string& name) const;             // throws Error when absent
  int64_t rows() const;
  std::string id(int64_t row) const;  // the id written for a row
};

// The value the model sees and the CSV shows: rounded to the column's decimals.
double rounded(double v, int decimals);
// `v` as the CSV writes it: rounded, with exactly `decimals` digits after the point.
std::string format_number(double v, int decimals);

}  // namespace ftmamba::data::gen
