// defines: validate_spec.
#include "ftmamba/data/generator/validate.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "ftmamba/core/error.h"

namespace ftmamba::data::gen {

namespace {

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
      throw Error(where + std::string(effect_kind_name(e.kind)) + " needs a categorical column");
    if ((e.kind == Effect::Kind::Levels) == e.values.empty())
      throw Error(where + "a level -> value table belongs to a levels effect, and it needs one");
    if ((e.kind == Effect::Kind::Linear || e.kind == Effect::Kind::Curve) && a->categorical)
      throw Error(where + std::string(effect_kind_name(e.kind)) + " needs a numerical column");
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

}  // namespace

void validate_spec(const Spec& spec) {
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
}

}  // namespace ftmamba::data::gen
