// defines: evaluate_effects and Side::index: each effect kind turned into per-row vectors (from named random
// streams), centred and scaled, and its oracle part, where a blank feature contributes the effect's mean.
#include "ftmamba/data/generator/effect_eval.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

#include "ftmamba/core/error.h"
#include "ftmamba/data/generator/rng.h"

namespace ftmamba::data::gen {

size_t Side::index(const std::string& column) const {
  for (size_t j = 0; j < table->columns.size(); ++j)
    if (table->columns[j].name == column) return j;
  throw Error("generator: no column '" + column + "'");
}

namespace {

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

Evaluated evaluate(const Effect& e, const Side& s) {
  const int64_t n = s.rows();
  const int D = s.dim;
  const size_t ja = s.index(e.feature);
  const Column& a = s.table->columns[ja];
  const std::string tag = s.name + ":" + effect_kind_name(e.kind) + ":" + e.feature;
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

}  // namespace

Evaluated evaluate_effects(const std::vector<Effect>& effects, const Side& s) {
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

}  // namespace ftmamba::data::gen
