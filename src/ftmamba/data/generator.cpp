// Implements the synthetic-dataset engine: effect evaluation, interaction sampling (Gumbel top-k),
// oracle factors, sanity checks, and the dataset folder's files.
#include "ftmamba/data/generator.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>
#include <tuple>
#include <unordered_map>

#include "ftmamba/core/error.h"
#include "ftmamba/data/csv.h"
#include "ftmamba/data/schema.h"
#include "ftmamba/data/timestamp.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/io/safetensors.h"

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

}  // namespace ftmamba::data

namespace ftmamba::data::gen {
namespace fs = std::filesystem;

// ---- random numbers ------------------------------------------------------------------------------

namespace {
uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
uint64_t fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}
}  // namespace

Rng Rng::stream(uint64_t seed, std::string_view name) { return Rng(splitmix64(seed ^ splitmix64(fnv1a(name)))); }

double Rng::uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

double Rng::normal() {
  // Marsaglia's polar method; the second value of each pair is kept for the next call.
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u, v, s;
  do {
    u = 2.0 * uniform() - 1.0;
    v = 2.0 * uniform() - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  const double f = std::sqrt(-2.0 * std::log(s) / s);
  spare_ = v * f;
  has_spare_ = true;
  return u * f;
}

double Rng::lognormal(double mu, double sigma) { return std::exp(mu + sigma * normal()); }

double Rng::exponential(double mean) { return -mean * std::log1p(-uniform()); }

double Rng::gamma(double shape, double scale) {
  // Marsaglia & Tsang; shape < 1 via the u^(1/shape) boost.
  if (shape < 1.0) return gamma(shape + 1.0, scale) * std::pow(1.0 - uniform(), 1.0 / shape);
  const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x, v;
    do {
      x = normal();
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = 1.0 - uniform();
    if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v * scale;
  }
}

double Rng::gumbel() {
  const double u = (static_cast<double>(engine_() >> 11) + 0.5) * 0x1.0p-53;  // (0, 1)
  return -std::log(-std::log(u));
}

int64_t Rng::below(int64_t n) {
  const auto k = static_cast<int64_t>(uniform() * static_cast<double>(n));
  return std::min(k, n - 1);
}

size_t Rng::choice(std::span<const double> weights) {
  double total = 0.0;
  for (double w : weights) total += w;
  double r = uniform() * total;
  size_t last = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (weights[i] <= 0.0) continue;
    last = i;
    if (r < weights[i]) return i;
    r -= weights[i];
  }
  return last;  // rounding at the very end of the range
}

// ---- tables and effects --------------------------------------------------------------------------

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

namespace {
Effect make_effect(Effect::Kind kind, std::string feature, std::string feature2, double scale, std::string shared) {
  Effect e;
  e.kind = kind;
  e.feature = std::move(feature);
  e.feature2 = std::move(feature2);
  e.scale = scale;
  e.shared = std::move(shared);
  return e;
}
}  // namespace

Effect embed(std::string feature, double scale, std::string shared_table) {
  return make_effect(Effect::Kind::Embed, std::move(feature), {}, scale, std::move(shared_table));
}
Effect linear(std::string feature, double scale, std::string axis) {
  return make_effect(Effect::Kind::Linear, std::move(feature), {}, scale, std::move(axis));
}
Effect levels(std::string feature, std::vector<std::pair<std::string, double>> values, double scale, std::string axis) {
  Effect e = make_effect(Effect::Kind::Levels, std::move(feature), {}, scale, std::move(axis));
  e.values = std::move(values);
  return e;
}
Effect curve(std::string feature, double scale) {
  return make_effect(Effect::Kind::Curve, std::move(feature), {}, scale, {});
}
Effect cross(std::string feature_a, std::string feature_b, double scale) {
  return make_effect(Effect::Kind::Cross, std::move(feature_a), std::move(feature_b), scale, {});
}

namespace {

const char* kind_name(Effect::Kind k) {
  switch (k) {
    case Effect::Kind::Embed:
      return "embed";
    case Effect::Kind::Linear:
      return "linear";
    case Effect::Kind::Curve:
      return "curve";
    case Effect::Kind::Cross:
      return "cross";
    case Effect::Kind::Levels:
      return "levels";
  }
  return "?";
}

// The value the model sees and the CSV shows: rounded to the column's decimals.
double rounded(double v, int decimals) {
  const double p = std::pow(10.0, decimals);
  return std::round(v * p) / p + 0.0;  // + 0.0 turns -0 into 0
}

std::string format_number(double v, int decimals) { return fmt::format("{:.{}f}", rounded(v, decimals), decimals); }

// A table as the model sees it: rounded values and the cells that the CSV leaves blank.
struct Side {
  std::string name;  // stream prefix: "user", "item", "popularity", "activity"
  const Table* table;
  const std::vector<std::vector<uint8_t>>* missing;
  int dim;
  uint64_t seed;

  int64_t rows() const { return table->rows(); }
  size_t index(const std::string& column) const {
    for (size_t j = 0; j < table->columns.size(); ++j)
      if (table->columns[j].name == column) return j;
    throw Error("generator: no column '" + column + "'");
  }
};

std::vector<double> random_vector(uint64_t seed, const std::string& name, int dim) {
  Rng r = Rng::stream(seed, name);
  std::vector<double> v(dim);
  for (double& x : v) x = r.normal() / std::sqrt(static_cast<double>(dim));
  return v;
}

std::vector<double> unit_vector(uint64_t seed, const std::string& name, int dim) {
  if (dim == 1) return {1.0};  // scalar targets: the effect's sign is the declared one
  std::vector<double> v = random_vector(seed, name, dim);
  double n = 0.0;
  for (double x : v) n += x * x;
  n = std::sqrt(n);
  for (double& x : v) x /= n;
  return v;
}

// Standardised values of a numerical column (optionally log1p).
std::vector<double> standardised(const Column& c, bool log) {
  std::vector<double> z(c.num.size());
  for (size_t r = 0; r < z.size(); ++r) {
    const double v = rounded(c.num[r], c.decimals);
    z[r] = log ? std::log1p(v) : v;
  }
  double mean = 0.0, var = 0.0;
  for (double v : z) mean += v;
  mean /= static_cast<double>(z.size());
  for (double v : z) var += (v - mean) * (v - mean);
  const double sd = std::max(std::sqrt(var / static_cast<double>(z.size())), 1e-12);
  for (double& v : z) v = (v - mean) / sd;
  return z;
}

// A discrete key per row: the level of a categorical, the quartile band of a numerical.
std::vector<std::string> level_keys(const Column& c) {
  if (c.categorical) return c.cat;
  std::vector<double> v(c.num.size());
  for (size_t r = 0; r < v.size(); ++r) v[r] = rounded(c.num[r], c.decimals);
  std::vector<double> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  const size_t n = sorted.size();
  const double e1 = sorted[n / 4], e2 = sorted[n / 2], e3 = sorted[(3 * n) / 4];
  std::vector<std::string> keys(n);
  for (size_t r = 0; r < n; ++r) keys[r] = v[r] < e1 ? "q1" : v[r] < e2 ? "q2" : v[r] < e3 ? "q3" : "q4";
  return keys;
}

// One effect evaluated over a table: (rows, dim) row-major, for the truth and for the oracle (where a
// blank feature contributes the mean of this effect over the rows where it is present).
struct Evaluated {
  std::vector<double> truth, oracle;
};

Evaluated evaluate(const Effect& e, const Side& s) {
  const int64_t n = s.rows();
  const int D = s.dim;
  const size_t ja = s.index(e.feature);
  const Column& a = s.table->columns[ja];
  const std::string tag = s.name + ":" + kind_name(e.kind) + ":" + e.feature;
  std::vector<double> out(static_cast<size_t>(n) * D, 0.0);

  std::vector<std::string> keys_a, keys_b;
  size_t jb = ja;
  switch (e.kind) {
    case Effect::Kind::Embed: {
      keys_a = level_keys(a);
      const std::string prefix = e.shared.empty() ? tag + ":" : "shared:" + e.shared + ":" + std::to_string(D) + ":";
      std::unordered_map<std::string, std::vector<double>> table;
      for (int64_t r = 0; r < n; ++r) {
        auto it = table.find(keys_a[r]);
        if (it == table.end()) it = table.emplace(keys_a[r], random_vector(s.seed, prefix + keys_a[r], D)).first;
        std::copy(it->second.begin(), it->second.end(), out.begin() + r * D);
      }
      break;
    }
    case Effect::Kind::Linear:
    case Effect::Kind::Levels: {
      std::vector<double> z;
      if (e.kind == Effect::Kind::Linear) {
        z = standardised(a, e.log);
      } else {  // the values as written, not standardised: a rare level is not blown up
        const std::map<std::string, double> value(e.values.begin(), e.values.end());
        for (const std::string& level : a.cat) {
          const auto it = value.find(level);
          z.push_back(it == value.end() ? 0.0 : it->second);
        }
      }
      const std::vector<double> dir = unit_vector(s.seed, e.shared.empty() ? tag : "axis:" + e.shared, D);
      for (int64_t r = 0; r < n; ++r)
        for (int d = 0; d < D; ++d) out[r * D + d] = z[r] * dir[d];
      break;
    }
    case Effect::Kind::Curve: {
      const std::vector<double> z = standardised(a, e.log);
      constexpr double kKnots[] = {-1.5, -0.5, 0.5, 1.5};
      constexpr double kWidth = 0.8;
      std::vector<std::vector<double>> vecs;
      for (int k = 0; k < 4; ++k) vecs.push_back(random_vector(s.seed, tag + ":" + std::to_string(k), D));
      for (int64_t r = 0; r < n; ++r)
        for (int k = 0; k < 4; ++k) {
          const double t = (z[r] - kKnots[k]) / kWidth;
          const double phi = std::exp(-0.5 * t * t);
          for (int d = 0; d < D; ++d) out[r * D + d] += phi * vecs[k][d];
        }
      break;
    }
    case Effect::Kind::Cross: {
      jb = s.index(e.feature2);
      keys_a = level_keys(a);
      keys_b = level_keys(s.table->columns[jb]);
      std::unordered_map<std::string, std::vector<double>> table;
      for (int64_t r = 0; r < n; ++r) {
        const std::string key = keys_a[r] + "|" + keys_b[r];
        auto it = table.find(key);
        if (it == table.end())
          it = table.emplace(key, random_vector(s.seed, tag + "*" + e.feature2 + ":" + key, D)).first;
        std::copy(it->second.begin(), it->second.end(), out.begin() + r * D);
      }
      break;
    }
  }

  // Centre and scale to the declared rms norm.
  std::vector<double> mean(D, 0.0);
  for (int64_t r = 0; r < n; ++r)
    for (int d = 0; d < D; ++d) mean[d] += out[r * D + d];
  for (double& m : mean) m /= static_cast<double>(n);
  double ss = 0.0;
  for (int64_t r = 0; r < n; ++r)
    for (int d = 0; d < D; ++d) {
      out[r * D + d] -= mean[d];
      ss += out[r * D + d] * out[r * D + d];
    }
  const double rms = std::sqrt(ss / static_cast<double>(n));
  // Levels effects keep their values' units (value * scale): rescaling to an rms would turn a rare
  // level with value 1 into an extreme outlier.
  const double f = e.kind == Effect::Kind::Levels ? e.scale : rms > 1e-12 ? e.scale / rms : 0.0;
  for (double& x : out) x *= f;

  // The oracle: rows with a blank feature take the mean over rows where it is present; for a cross
  // effect, over those rows sharing the other feature's (present) level.
  Evaluated ev;
  ev.oracle = out;
  const auto& ma = (*s.missing)[ja];
  const auto& mb = (*s.missing)[jb];
  bool any = false;
  for (int64_t r = 0; r < n; ++r) any = any || ma[r] || mb[r];
  if (any) {
    struct Acc {
      std::vector<double> sum;
      int64_t count = 0;
    };
    Acc all{std::vector<double>(D, 0.0)};
    std::map<std::string, Acc> by_group;  // "a=LEVEL" / "b=LEVEL"
    auto add = [&](Acc& acc, int64_t r) {
      if (acc.sum.empty()) acc.sum.assign(D, 0.0);
      for (int d = 0; d < D; ++d) acc.sum[d] += out[r * D + d];
      ++acc.count;
    };
    const bool is_cross = e.kind == Effect::Kind::Cross;
    for (int64_t r = 0; r < n; ++r) {
      if (ma[r] || mb[r]) continue;
      add(all, r);
      if (is_cross) {
        add(by_group["a=" + keys_a[r]], r);
        add(by_group["b=" + keys_b[r]], r);
      }
    }
    for (int64_t r = 0; r < n; ++r) {
      if (!ma[r] && !mb[r]) continue;
      const Acc* acc = &all;
      if (is_cross && ma[r] != mb[r]) {
        auto it = by_group.find(ma[r] ? "b=" + keys_b[r] : "a=" + keys_a[r]);
        if (it != by_group.end()) acc = &it->second;
      }
      for (int d = 0; d < D; ++d)
        ev.oracle[r * D + d] = acc->count ? acc->sum[d] / static_cast<double>(acc->count) : 0.0;
    }
  }
  ev.truth = std::move(out);
  return ev;
}

// Sum of a list of effects over one side.
Evaluated evaluate_all(const std::vector<Effect>& effects, const Side& s) {
  Evaluated sum{std::vector<double>(static_cast<size_t>(s.rows()) * s.dim, 0.0),
                std::vector<double>(static_cast<size_t>(s.rows()) * s.dim, 0.0)};
  for (const Effect& e : effects) {
    const Evaluated ev = evaluate(e, s);
    for (size_t i = 0; i < sum.truth.size(); ++i) {
      sum.truth[i] += ev.truth[i];
      sum.oracle[i] += ev.oracle[i];
    }
  }
  return sum;
}

// ---- validation ----------------------------------------------------------------------------------

void validate_table(const std::string& preset, const std::string& what, const Table& t) {
  const std::string where = "preset '" + preset + "': " + what + " table: ";
  if (std::none_of(t.columns.begin(), t.columns.end(), [](const Column& c) { return c.feature; }))
    throw Error(where + "no feature columns");
  const int64_t n = t.rows();
  if (n <= 0) throw Error(where + "no rows");
  if (t.id_format) {  // the default ids are unique by construction
    std::set<std::string> ids;
    for (int64_t r = 0; r < n; ++r) {
      std::string id = t.id(r);
      if (id.empty()) throw Error(where + "row " + std::to_string(r) + " has an empty id");
      if (!ids.insert(std::move(id)).second) throw Error(where + "duplicate id '" + t.id(r) + "'");
    }
  }
  std::set<std::string> names{t.id_column};
  for (const Column& c : t.columns) {
    if (!names.insert(c.name).second) throw Error(where + "duplicate column '" + c.name + "'");
    const auto len = static_cast<int64_t>(c.categorical ? c.cat.size() : c.num.size());
    if (len != n || (c.categorical ? !c.num.empty() : !c.cat.empty()))
      throw Error(where + "column '" + c.name + "' has " + std::to_string(len) + " values, expected " +
                  std::to_string(n));
    if (!(c.missing_rate >= 0.0 && c.missing_rate < 1.0))
      throw Error(where + "column '" + c.name + "': missing_rate must be in [0, 1)");
    if (c.decimals < 0 || c.decimals > 9) throw Error(where + "column '" + c.name + "': decimals must be 0..9");
    for (double v : c.num)
      if (!std::isfinite(v)) throw Error(where + "column '" + c.name + "' has a non-finite value");
    if (!c.feature && !c.categorical) throw Error(where + "column '" + c.name + "': an extra column holds text");
    if (c.feature && !c.blank_level)
      for (const std::string& l : c.cat)
        if (l.empty()) throw Error(where + "column '" + c.name + "' has an empty level (use missing_rate)");
  }
}

void validate_effects(const std::string& preset, const std::string& what, const std::vector<Effect>& effects,
                      const Table& t) {
  for (const Effect& e : effects) {
    const std::string where = "preset '" + preset + "': " + what + " effect on '" + e.feature + "': ";
    const Column* a = nullptr;
    for (const Column& c : t.columns)
      if (c.name == e.feature) a = &c;
    if (!a) throw Error(where + "no such column");
    if (!a->feature) throw Error(where + "an extra written column is not a feature");
    if ((e.kind == Effect::Kind::Embed || e.kind == Effect::Kind::Levels) && !a->categorical)
      throw Error(where + std::string(kind_name(e.kind)) + " needs a categorical column");
    if ((e.kind == Effect::Kind::Levels) == e.values.empty())
      throw Error(where + "a level -> value table belongs to a levels effect, and it needs one");
    if ((e.kind == Effect::Kind::Linear || e.kind == Effect::Kind::Curve) && a->categorical)
      throw Error(where + std::string(kind_name(e.kind)) + " needs a numerical column");
    if (e.kind == Effect::Kind::Cross && !t.column(e.feature2).feature)
      throw Error(where + "'" + e.feature2 + "' is an extra written column, not a feature");
    if (e.log)
      for (double v : a->num)
        if (v <= -1.0) throw Error(where + "log needs values > -1");
  }
}

void validate_interaction_format(const std::string& preset, const Spec& spec) {
  const InteractionFormat& f = spec.interactions;
  const std::string where = "preset '" + preset + "': interactions: ";
  std::set<std::string> names{spec.users.id_column};
  if (!names.insert(spec.items.id_column).second) throw Error(where + "users and items share the id column name");
  if (f.timestamp_column.empty() || !names.insert(f.timestamp_column).second)
    throw Error(where + "bad timestamp column name '" + f.timestamp_column + "'");
  for (const InteractionColumn& c : f.extra) {
    if (c.name.empty() || !names.insert(c.name).second) throw Error(where + "bad or duplicate column '" + c.name + "'");
    if (!c.value) throw Error(where + "column '" + c.name + "' has no value function");
    if (c.decimals < 0 || c.decimals > 9) throw Error(where + "column '" + c.name + "': decimals must be 0..9");
  }
}

// How many interactions each user gets: min_n each, the rest proportional to weight, capped, with
// largest-remainder rounding so the total is exact.
std::vector<int64_t> allocate(const std::vector<double>& weight, int64_t total, int64_t min_n, int64_t cap) {
  const size_t n = weight.size();
  std::vector<double> share(n, 0.0);
  std::vector<uint8_t> capped(n, 0);
  const double room = static_cast<double>(cap - min_n);
  double extra = static_cast<double>(total - min_n * static_cast<int64_t>(n));
  for (;;) {
    double w = 0.0;
    for (size_t u = 0; u < n; ++u)
      if (!capped[u]) w += weight[u];
    bool changed = false;
    for (size_t u = 0; u < n; ++u) {
      if (capped[u]) continue;
      share[u] = w > 0.0 ? extra * weight[u] / w : 0.0;
      if (share[u] > room) {
        capped[u] = 1;
        share[u] = room;
        extra -= room;
        changed = true;
      }
    }
    if (!changed) break;
  }
  std::vector<int64_t> count(n);
  int64_t assigned = 0;
  for (size_t u = 0; u < n; ++u) {
    count[u] = min_n + static_cast<int64_t>(std::floor(share[u]));
    assigned += count[u];
  }
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    return share[x] - std::floor(share[x]) > share[y] - std::floor(share[y]);
  });
  for (size_t pass = 0; assigned < total; ++pass)
    for (size_t k = 0; k < n && assigned < total; ++k) {
      const size_t u = order[k];
      if (count[u] < cap && (pass > 0 || share[u] > std::floor(share[u]))) {
        ++count[u];
        ++assigned;
      }
    }
  return count;
}

nlohmann::ordered_json effects_json(const std::vector<Effect>& effects) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (const Effect& e : effects) {
    nlohmann::ordered_json j;
    j["kind"] = kind_name(e.kind);
    j["feature"] = e.feature;
    if (e.kind == Effect::Kind::Cross) j["with"] = e.feature2;
    j["scale"] = e.scale;
    if (!e.shared.empty()) j[e.kind == Effect::Kind::Embed ? "shared_table" : "axis"] = e.shared;
    if (e.kind == Effect::Kind::Levels) {
      nlohmann::ordered_json v;
      for (const auto& [level, value] : e.values) v[level] = value;
      j["values"] = v;
    }
    if (e.log) j["transform"] = "log1p";
    a.push_back(j);
  }
  return a;
}

std::string table_csv(const Table& t, const std::vector<std::vector<uint8_t>>& missing) {
  std::string out;
  std::vector<std::string> fields{t.id_column};
  for (const Column& c : t.columns) fields.push_back(c.name);
  out += format_csv_row(fields);
  for (int64_t r = 0; r < t.rows(); ++r) {
    fields.clear();
    fields.push_back(t.id(r));
    for (size_t j = 0; j < t.columns.size(); ++j) {
      const Column& c = t.columns[j];
      if (missing[j][r])
        fields.emplace_back();
      else
        fields.push_back(c.categorical ? c.cat[r] : format_number(c.num[r], c.decimals));
    }
    out += format_csv_row(fields);
  }
  return out;
}

TableSchema table_schema(const Table& t) {
  TableSchema s;
  s.id = t.id_column;
  for (const Column& c : t.columns)
    if (c.feature) (c.categorical ? s.categorical : s.numerical).push_back(c.name);
  return s;
}

}  // namespace

std::string oracle_definition() {
  return "oracle_score(u, i) = <user_factors[u], item_factors[i]> + item_bias[i], the expected sampling logit "
         "of item i for user u given only the written features: (<feature-explained user vector, item vector> "
         "+ feature-explained popularity) / temperature. It leaves out each user's hidden taste component, the "
         "hidden popularity residual and the sampling noise. A blank feature contributes its effect's mean over "
         "the rows where the feature is present (for a cross effect, over those rows sharing the other "
         "feature's level). true_user_factors, true_item_factors and true_item_bias give the same score with "
         "the hidden taste and hidden popularity included (everything but the sampling noise): the ceiling.";
}

// ---- drift ---------------------------------------------------------------------------------------

namespace {
// Moves the tastes (and oracle parts) of the drift segment's users toward one random direction; returns how
// many users the segment holds. Throws Error for an unknown column, a level no user has, an empty segment
// or a strength outside (0, 1].
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
}  // namespace

// ---- the engine ----------------------------------------------------------------------------------

Result generate(const Spec& spec, const GenerateOptions& options) {
  const Model& m = spec.model;
  const std::string& p = spec.preset;
  validate_table(p, "users", spec.users);
  validate_table(p, "items", spec.items);
  validate_effects(p, "user", m.user, spec.users);
  validate_effects(p, "item", m.item, spec.items);
  validate_effects(p, "popularity", m.popularity, spec.items);
  validate_effects(p, "activity", m.activity, spec.users);
  validate_interaction_format(p, spec);
  if (m.dim < 1 || !(m.temperature > 0.0) || m.min_per_user < 1 || !(m.hidden_weight_min >= 0.0) ||
      m.hidden_weight_max < m.hidden_weight_min || !(m.max_user_share > 0.0))
    throw Error("preset '" + p + "': invalid model parameters");

  const int64_t n_users = spec.users.rows(), n_items = spec.items.rows();
  const int64_t cap = std::min(n_items, std::max(m.min_per_user, static_cast<int64_t>(m.max_user_share * n_items)));
  const int64_t pairs = options.pairs;
  if (m.min_per_user > n_items || pairs < m.min_per_user * n_users || pairs > cap * n_users)
    throw Error(
        fmt::format("preset '{}': cannot draw {} interactions for {} users and {} items (each user needs "
                    "{} to {}); choose another --pairs",
                    p, pairs, n_users, n_items, m.min_per_user, cap));
  const uint64_t seed = options.seed;
  const int D = m.dim;

  Result res;
  res.dim = D;
  // Blank cells, drawn per column from its own stream.
  auto mask = [&](const Table& t, const std::string& side) {
    std::vector<std::vector<uint8_t>> miss;
    for (const Column& c : t.columns) {
      std::vector<uint8_t> mk(t.rows(), 0);
      if (c.missing_rate > 0.0) {
        Rng r = Rng::stream(seed, "missing:" + side + ":" + c.name);
        for (auto& x : mk) x = r.bernoulli(c.missing_rate) ? 1 : 0;
      }
      miss.push_back(std::move(mk));
    }
    return miss;
  };
  res.user_missing = mask(spec.users, "user");
  res.item_missing = mask(spec.items, "item");

  const Side users{"user", &spec.users, &res.user_missing, D, seed};
  const Side items{"item", &spec.items, &res.item_missing, D, seed};
  const Evaluated U = evaluate_all(m.user, users);  // (n_users, D)
  const Evaluated V = evaluate_all(m.item, items);  // (n_items, D)
  Evaluated P = evaluate_all(m.popularity, Side{"popularity", &spec.items, &res.item_missing, 1, seed});  // (n_items)
  Evaluated A = evaluate_all(m.activity, Side{"activity", &spec.users, &res.user_missing, 1, seed});      // (n_users)

  // Hidden parts: per-user taste, popularity residual, activity residual.
  std::vector<double> taste = U.truth;  // (n_users, D) the user's true vector
  {
    Rng r = Rng::stream(seed, "hidden:user");
    const double sd = m.hidden_scale / std::sqrt(static_cast<double>(D));
    for (int64_t u = 0; u < n_users; ++u) {
      const double w = r.uniform(m.hidden_weight_min, m.hidden_weight_max);
      for (int d = 0; d < D; ++d) taste[u * D + d] += w * sd * r.normal();
    }
  }
  std::vector<double> user_oracle = U.oracle;  // (n_users, D) the feature-explained part
  if (options.drift) res.drifted_users = apply_drift(*options.drift, spec.users, D, taste, user_oracle);
  {
    Rng r = Rng::stream(seed, "hidden:popularity");
    for (double& x : P.truth) x += m.popularity_hidden * r.normal();
  }
  std::vector<double> weight(n_users);
  {
    Rng r = Rng::stream(seed, "hidden:activity");
    for (int64_t u = 0; u < n_users; ++u) weight[u] = std::exp(A.truth[u] + m.activity_hidden * r.normal());
  }
  const std::vector<int64_t> count = allocate(weight, pairs, m.min_per_user, cap);

  // Sampling: Gumbel top-k over the user's logits draws count[u] items without replacement from
  // softmax(logit); the order in time is a random permutation of them.
  const double inv_t = 1.0 / m.temperature;
  const int64_t span = static_cast<int64_t>(spec.timeline.days * 86400.0);
  std::vector<int64_t> seq_offset(n_users + 1, 0);
  for (int64_t u = 0; u < n_users; ++u) seq_offset[u + 1] = seq_offset[u] + count[u];
  std::vector<int64_t> seq_item(pairs), seq_time(pairs);
  {
    Rng r = Rng::stream(seed, "interactions");
    Rng rt = Rng::stream(seed, "time");
    std::vector<std::pair<double, int64_t>> key(n_items);
    for (int64_t u = 0; u < n_users; ++u) {
      const double* tu = &taste[u * D];
      for (int64_t i = 0; i < n_items; ++i) {
        const double* vi = &V.truth[i * D];
        double s = P.truth[i];
        for (int d = 0; d < D; ++d) s += tu[d] * vi[d];
        key[i] = {s * inv_t + r.gumbel(), i};
      }
      const int64_t k = count[u];
      std::nth_element(key.begin(), key.begin() + (k - 1), key.end(), [](const auto& x, const auto& y) {
        return x.first > y.first || (x.first == y.first && x.second < y.second);
      });
      std::vector<int64_t> chosen(k);
      for (int64_t j = 0; j < k; ++j) chosen[j] = key[j].second;
      std::sort(chosen.begin(), chosen.end());  // nth_element's order is not a promise; fix it before shuffling
      for (int64_t j = k - 1; j > 0; --j) std::swap(chosen[j], chosen[r.below(j + 1)]);
      // Times: join in the first join_share of the window, then sorted uniform times until its end.
      const int64_t join = spec.timeline.start + static_cast<int64_t>(rt.uniform() * spec.timeline.join_share * span);
      const int64_t end = spec.timeline.start + span;
      std::vector<int64_t> times(k);
      for (auto& t : times) t = join + static_cast<int64_t>(rt.uniform() * static_cast<double>(end - join));
      std::sort(times.begin(), times.end());
      for (int64_t j = 1; j < k; ++j) times[j] = std::max(times[j], times[j - 1] + 1);
      for (int64_t j = 0; j < k; ++j) {
        seq_item[seq_offset[u] + j] = chosen[j];
        seq_time[seq_offset[u] + j] = times[j];
      }
    }
  }

  // Interactions in time order, as a log would have them.
  std::vector<int64_t> order(pairs);
  std::vector<int64_t> seq_user(pairs);
  for (int64_t u = 0; u < n_users; ++u)
    for (int64_t j = seq_offset[u]; j < seq_offset[u + 1]; ++j) seq_user[j] = u;
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t x, int64_t y) {
    return std::tie(seq_time[x], seq_user[x], seq_item[x]) < std::tie(seq_time[y], seq_user[y], seq_item[y]);
  });
  res.user.resize(pairs);
  res.item.resize(pairs);
  res.timestamp.resize(pairs);
  for (int64_t k = 0; k < pairs; ++k) {
    res.user[k] = seq_user[order[k]];
    res.item[k] = seq_item[order[k]];
    res.timestamp[k] = seq_time[order[k]];
  }

  // Extra interaction columns, in file order, each from its own stream.
  for (const InteractionColumn& c : spec.interactions.extra) {
    Rng r = Rng::stream(seed, "interaction-column:" + c.name);
    std::vector<double> v(pairs);
    for (int64_t k = 0; k < pairs; ++k) {
      v[k] = c.value(res.user[k], res.item[k], r);
      if (!std::isfinite(v[k]))
        throw Error("preset '" + p + "': interaction column '" + c.name + "' gave a non-finite value");
    }
    res.extra.push_back(std::move(v));
  }

  // The oracle, on the logit scale (temperature folded into the user side and the bias).
  res.user_factors.resize(user_oracle.size());
  res.item_factors.resize(V.oracle.size());
  res.item_bias.resize(n_items);
  for (size_t i = 0; i < user_oracle.size(); ++i) res.user_factors[i] = static_cast<float>(user_oracle[i] * inv_t);
  for (size_t i = 0; i < V.oracle.size(); ++i) res.item_factors[i] = static_cast<float>(V.oracle[i]);
  for (int64_t i = 0; i < n_items; ++i) res.item_bias[i] = static_cast<float>(P.oracle[i] * inv_t);
  res.true_user_factors.resize(taste.size());
  res.true_item_factors.resize(V.truth.size());
  res.true_item_bias.resize(n_items);
  for (size_t i = 0; i < taste.size(); ++i) res.true_user_factors[i] = static_cast<float>(taste[i] * inv_t);
  for (size_t i = 0; i < V.truth.size(); ++i) res.true_item_factors[i] = static_cast<float>(V.truth[i]);
  for (int64_t i = 0; i < n_items; ++i) res.true_item_bias[i] = static_cast<float>(P.truth[i] * inv_t);

  // Checks: leave-last-out HR@10 over the full catalog with the user's other items masked.
  {
    std::vector<int64_t> pop(n_items, 0), held(n_users);
    for (int64_t u = 0; u < n_users; ++u) held[u] = seq_item[seq_offset[u + 1] - 1];  // latest time
    for (int64_t k = 0; k < pairs; ++k) ++pop[seq_item[k]];
    std::vector<int64_t> sorted_pop = pop;
    std::sort(sorted_pop.rbegin(), sorted_pop.rend());
    const int64_t top = std::max<int64_t>(1, (n_items + 99) / 100);
    res.checks.top1pct_share =
        static_cast<double>(std::accumulate(sorted_pop.begin(), sorted_pop.begin() + top, int64_t{0})) /
        static_cast<double>(pairs);
    for (int64_t u = 0; u < n_users; ++u) --pop[held[u]];

    std::vector<uint8_t> masked(n_items, 0);
    std::vector<double> score(n_items);
    int64_t hit_oracle = 0, hit_pop = 0;
    auto rank_of = [&](const auto& sc, int64_t target) {
      int64_t rank = 0;
      for (int64_t i = 0; i < n_items; ++i)
        if (!masked[i] && i != target && (sc[i] > sc[target] || (sc[i] == sc[target] && i < target))) ++rank;
      return rank;
    };
    for (int64_t u = 0; u < n_users; ++u) {
      for (int64_t j = seq_offset[u]; j + 1 < seq_offset[u + 1]; ++j) masked[seq_item[j]] = 1;
      const float* fu = &res.user_factors[u * D];
      for (int64_t i = 0; i < n_items; ++i) {
        const float* vi = &res.item_factors[i * D];
        double s = res.item_bias[i];
        for (int d = 0; d < D; ++d) s += static_cast<double>(fu[d]) * vi[d];
        score[i] = s;
      }
      hit_oracle += rank_of(score, held[u]) < 10;
      hit_pop += rank_of(pop, held[u]) < 10;
      for (int64_t j = seq_offset[u]; j + 1 < seq_offset[u + 1]; ++j) masked[seq_item[j]] = 0;
    }
    res.checks.oracle_hr10 = static_cast<double>(hit_oracle) / static_cast<double>(n_users);
    res.checks.popularity_hr10 = static_cast<double>(hit_pop) / static_cast<double>(n_users);
  }
  return res;
}

void write_dataset(const Spec& spec, const Result& res, const GenerateOptions& options, const fs::path& dir) {
  const Table& users = spec.users;
  const Table& items = spec.items;
  const int64_t n_users = users.rows(), n_items = items.rows(), pairs = static_cast<int64_t>(res.user.size());

  io::write_file_atomic(dir / "users.csv", table_csv(users, res.user_missing));
  io::write_file_atomic(dir / "items.csv", table_csv(items, res.item_missing));
  {
    const InteractionFormat& f = spec.interactions;
    // Ids are formatted once per row, not once per interaction (hashed ids are not free).
    std::vector<std::string> user_ids(n_users), item_ids(n_items);
    for (int64_t r = 0; r < n_users; ++r) user_ids[r] = users.id(r);
    for (int64_t r = 0; r < n_items; ++r) item_ids[r] = items.id(r);
    std::vector<std::string> fields;
    auto row = [&](std::string user, std::string item, std::string time) {
      fields.clear();
      if (f.timestamp_first) fields.push_back(std::move(time));
      fields.push_back(std::move(user));
      fields.push_back(std::move(item));
      if (!f.timestamp_first) fields.push_back(std::move(time));
    };
    row(users.id_column, items.id_column, f.timestamp_column);
    for (const InteractionColumn& c : f.extra) fields.push_back(c.name);
    std::string out = format_csv_row(fields);
    for (int64_t k = 0; k < pairs; ++k) {
      row(user_ids[res.user[k]], item_ids[res.item[k]],
          f.time == InteractionFormat::Time::Date ? format_date(res.timestamp[k]) : std::to_string(res.timestamp[k]));
      for (size_t j = 0; j < f.extra.size(); ++j) fields.push_back(format_number(res.extra[j][k], f.extra[j].decimals));
      out += format_csv_row(fields);
    }
    io::write_file_atomic(dir / "interactions.csv", out);
  }
  {
    Schema schema;
    schema.users = table_schema(users);
    schema.items = table_schema(items);
    schema.interactions.user = users.id_column;
    schema.interactions.item = items.id_column;
    schema.interactions.timestamp = spec.interactions.timestamp_column;
    io::write_file_atomic(dir / "schema.toml", schema.to_toml());
  }
  {
    auto tensor = [](const std::vector<float>& v, std::vector<int64_t> shape) {
      return torch::from_blob(const_cast<float*>(v.data()), shape, torch::kFloat32).clone();
    };
    io::save_safetensors(
        dir / "oracle.safetensors",
        {{"user_factors", tensor(res.user_factors, {n_users, res.dim})},
         {"item_factors", tensor(res.item_factors, {n_items, res.dim})},
         {"item_bias", tensor(res.item_bias, {n_items})},
         {"true_user_factors", tensor(res.true_user_factors, {n_users, res.dim})},
         {"true_item_factors", tensor(res.true_item_factors, {n_items, res.dim})},
         {"true_item_bias", tensor(res.true_item_bias, {n_items})}},
        {{"preset", spec.preset}, {"seed", std::to_string(options.seed)}, {"definition", oracle_definition()}});
  }
  {
    const Model& m = spec.model;
    nlohmann::ordered_json j;
    j["preset"] = spec.preset;
    j["seed"] = options.seed;
    j["pairs"] = pairs;
    j["counts"] = {{"users", n_users}, {"items", n_items}, {"interactions", pairs}};
    if (options.drift)
      j["drift"] = {{"segment", options.drift->segment()},
                    {"strength", options.drift->strength},
                    {"direction_seed", options.drift->direction_seed},
                    {"users", res.drifted_users},
                    {"definition",
                     "the segment's users move their taste (and its feature-explained part) toward one random "
                     "direction g: taste <- (1 - strength) taste + strength * rms_taste * g / |g|; all else "
                     "is as the same seed without drift"}};
    j["description"] = spec.description;
    nlohmann::ordered_json model;
    model["latent_dim"] = m.dim;
    model["user_vector"] =
        "sum of user effects + w_u * h_u (hidden taste, h_u ~ N(0, I * hidden_scale^2 / dim), "
        "w_u ~ U(weight_min, weight_max))";
    model["item_vector"] = "sum of item effects";
    model["logit"] = "(<user vector, item vector> + popularity) / temperature";
    model["sampling"] =
        "each user draws their items without replacement from softmax(logit) (Gumbel top-k); "
        "interaction times are a random order of those items at sorted uniform times after the "
        "user joins";
    std::string note =
        "each effect is centred and scaled to root-mean-square norm |scale|; numerical "
        "features are standardised; blank CSV cells still use the true value";
    bool has_levels = false;
    for (const auto* list : {&m.user, &m.item, &m.popularity, &m.activity})
      for (const Effect& e : *list) has_levels = has_levels || e.kind == Effect::Kind::Levels;
    if (has_levels) note += "; a levels effect is the exception: its values are centred and multiplied by scale";
    model["effects_note"] = note;
    model["temperature"] = m.temperature;
    model["user_effects"] = effects_json(m.user);
    model["item_effects"] = effects_json(m.item);
    model["hidden_user_component"] = {
        {"scale", m.hidden_scale}, {"weight_min", m.hidden_weight_min}, {"weight_max", m.hidden_weight_max}};
    model["popularity_effects"] = effects_json(m.popularity);
    model["popularity_hidden_sd"] = m.popularity_hidden;
    model["activity_effects"] = effects_json(m.activity);
    model["activity_hidden_sd"] = m.activity_hidden;
    model["min_interactions_per_user"] = m.min_per_user;
    model["max_user_share_of_catalog"] = m.max_user_share;
    j["model"] = model;
    j["oracle"] = {
        {"file", "oracle.safetensors"},
        {"tensors",
         {{"user_factors", {n_users, res.dim}}, {"item_factors", {n_items, res.dim}}, {"item_bias", {n_items}}}},
        {"row_order", "user_factors follow users.csv rows; item_factors and item_bias follow items.csv rows"},
        {"definition", oracle_definition()}};
    j["checks"] = {{"protocol",
                    "each user's last interaction (by timestamp) held out; full catalog ranked with the "
                    "user's other interactions masked; popularity counted without the held-out ones"},
                   {"oracle_hr_at_10", res.checks.oracle_hr10},
                   {"popularity_hr_at_10", res.checks.popularity_hr10},
                   {"top_1pct_item_share", res.checks.top1pct_share}};
    io::write_file_atomic(dir / "dataset.json", j.dump(2) + "\n");
  }
}

}  // namespace ftmamba::data::gen
