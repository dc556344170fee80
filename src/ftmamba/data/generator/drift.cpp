// defines: Drift's text form (parse, segment) and gen::apply_drift.
#include "ftmamba/data/generator/drift.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "ftmamba/core/error.h"
#include "ftmamba/data/generator/rng.h"

namespace ftmamba::data {

Drift Drift::parse(const std::string& segment) {
  const size_t at = segment.find_first_of("=<>");
  if (at == std::string::npos || at == 0 || at + 1 >= segment.size())
    throw Error("--drift '" + segment + "': expected COLUMN=LEVEL, COLUMN>NUMBER or COLUMN<NUMBER");
  Drift d;
  d.column = segment.substr(0, at);
  d.op = segment[at];
  const std::string value = segment.substr(at + 1);
  if (d.op == '=') {
    d.level = value;
  } else {
    size_t used = 0;
    try {
      d.threshold = std::stod(value, &used);
    } catch (...) {
      used = 0;
    }
    if (used != value.size()) throw Error("--drift '" + segment + "': '" + value + "' is not a number");
  }
  return d;
}

std::string Drift::segment() const { return column + op + (op == '=' ? level : fmt::format("{}", threshold)); }

namespace gen {

int64_t apply_drift(const Drift& drift, const Table& users, int D, std::vector<double>& taste,
                    std::vector<double>& oracle) {
  if (!(drift.strength > 0.0 && drift.strength <= 1.0))
    throw Error(fmt::format("--drift-strength must be in (0, 1], got {}", drift.strength));
  const Column* col = nullptr;
  std::string names;
  for (const Column& c : users.columns) {
    if (!c.feature) continue;
    names += (names.empty() ? "" : ", ") + c.name;
    if (c.name == drift.column) col = &c;
  }
  if (!col) throw Error("--drift: no user column '" + drift.column + "'; the user columns are: " + names);
  if (col->categorical != (drift.op == '='))
    throw Error("--drift: '" + drift.column + "' is " +
                (col->categorical ? "categorical: use COLUMN=LEVEL" : "numerical: use COLUMN>X or COLUMN<X"));
  const int64_t n = users.rows();
  std::vector<int64_t> members;
  for (int64_t u = 0; u < n; ++u) {
    const bool in = col->categorical
                        ? col->cat[u] == drift.level
                        : (drift.op == '>' ? col->num[u] > drift.threshold : col->num[u] < drift.threshold);
    if (in) members.push_back(u);
  }
  if (members.empty()) {
    std::string why = "--drift: the segment " + drift.segment() + " holds no user";
    if (col->categorical) {
      const std::set<std::string> levels(col->cat.begin(), col->cat.end());
      std::string list;
      for (const auto& l : levels) list += (list.empty() ? "" : ", ") + l;
      why += "; the levels of " + col->name + " are: " + list;
    }
    throw Error(why);
  }
  double sq = 0.0;
  for (double x : taste) sq += x * x;
  const double rms = std::sqrt(sq / static_cast<double>(std::max<int64_t>(n, 1)));
  Rng r = Rng::stream(drift.direction_seed, "drift:direction");
  std::vector<double> g(D);
  double norm = 0.0;
  for (double& x : g) {
    x = r.normal();
    norm += x * x;
  }
  norm = std::sqrt(norm);
  const double s = drift.strength;
  for (int64_t u : members)
    for (int d = 0; d < D; ++d) {
      const double target = rms * g[d] / norm;
      taste[u * D + d] = (1.0 - s) * taste[u * D + d] + s * target;
      oracle[u * D + d] = (1.0 - s) * oracle[u * D + d] + s * target;
    }
  return static_cast<int64_t>(members.size());
}

}  // namespace gen
}  // namespace ftmamba::data
