// defines: the evaluation of effects over a table: gen::Side (a table as the model sees it) and
// evaluate_effects, the sum of a list of effects per row, for the truth and for the oracle.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ftmamba/data/generator/effects.h"
#include "ftmamba/data/generator/table.h"

namespace ftmamba::data::gen {

// A table as the model sees it: rounded values and the cells that the CSV leaves blank.
struct Side {
  std::string name;  // stream prefix: "user", "item", "popularity", "activity"
  const Table* table;
  const std::vector<std::vector<uint8_t>>* missing;
  int dim;
  uint64_t seed;

  int64_t rows() const { return table->rows(); }
  size_t index(const std::string& column) const;  // throws Error when absent
};

// One effect evaluated over a table: (rows, dim) row-major, for the truth and for the oracle (where a
// blank feature contributes the mean of this effect over the rows where it is present).
struct Evaluated {
  std::vector<double> truth, oracle;
};

// Sum of a list of effects over one side: (rows, dim) row-major each.
Evaluated evaluate_effects(const std::vector<Effect>& effects, const Side& side);

}  // namespace ftmamba::data::gen
