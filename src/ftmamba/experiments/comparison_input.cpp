// defines: reading comparison.json (see comparison_input.h).
#include "ftmamba/experiments/comparison_input.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "ftmamba/core/error.h"
#include "ftmamba/experiments/report_json.h"

namespace ftmamba::experiments {
using nlohmann::json;

namespace {

const json& need(const json& j, const std::string& key, const std::string& where) {
  if (!j.is_object() || !j.contains(key)) comparison_error(where, "missing '" + key + "'");
  return j.at(key);
}

}  // namespace

void comparison_error(const std::string& where, const std::string& what) {
  throw Error("comparison.json: " + where + ": " + what);
}

std::vector<double> number_array(const json& j, const std::string& key, const std::string& where) {
  const json& a = need(j, key, where);
  if (!a.is_array()) comparison_error(where + "." + key, "not an array");
  std::vector<double> out;
  out.reserve(a.size());
  for (const auto& x : a) {
    if (!x.is_number()) comparison_error(where + "." + key, "not a number: " + x.dump());
    out.push_back(x.get<double>());
  }
  return out;
}

ComparisonInput read_comparison_input(const json& j) {
  ComparisonInput c;
  if (!j.is_object()) comparison_error("top level", "not a JSON object");
  // Through a pointer: GCC 13's -Wdangling-reference mistakes a reference returned by need() for one into
  // its temporary string arguments.
  const json* runs_ptr = &need(j, "runs", "top level");
  const json& runs = *runs_ptr;
  if (!runs.is_array() || runs.empty()) comparison_error("runs", "must be a non-empty array");
  if (j.contains("models") && j["models"].is_array())
    for (const auto& m : j["models"]) c.models.push_back(m.get<std::string>());
  std::set<std::string> seeds_seen;
  std::vector<std::string> seed_order;
  for (size_t i = 0; i < runs.size(); ++i) {
    const std::string where = fmt::format("runs[{}]", i);
    ComparedRun r;
    r.j = &runs[i];
    r.model = need(runs[i], "model", where).get<std::string>();
    r.seed = optional_string(runs[i], "seed");
    r.run_dir = optional_string(runs[i], "run_dir");
    if (!need(need(runs[i], "test", where), "full", where + ".test").is_object())
      comparison_error(where + ".test.full", "not an object");
    if (std::find(c.models.begin(), c.models.end(), r.model) == c.models.end()) c.models.push_back(r.model);
    r.model_index = static_cast<int>(std::find(c.models.begin(), c.models.end(), r.model) - c.models.begin());
    if (seeds_seen.insert(r.seed).second) seed_order.push_back(r.seed);
    r.seed_index = static_cast<int>(std::find(seed_order.begin(), seed_order.end(), r.seed) - seed_order.begin());
    c.runs.push_back(r);
  }
  c.n_seeds = seed_order.size();
  if (j.contains("ks") && j["ks"].is_array() && !j["ks"].empty()) {
    for (const auto& k : j["ks"]) c.ks.push_back(k.get<int64_t>());
  } else {
    c.ks = {1, 5, 10};
  }
  if (j.contains("references") && j["references"].is_object()) {
    const json& refs = j["references"];
    // The usual rankers first, in ceiling-to-floor order; any other after them.
    for (const char* name : {"oracle", "true-utility", "popularity"})
      if (refs.contains(name) && refs[name].is_object()) c.references.emplace_back(name, &refs[name]);
    for (auto it = refs.begin(); it != refs.end(); ++it)
      if (it.value().is_object() && it.key() != "oracle" && it.key() != "true-utility" && it.key() != "popularity")
        c.references.emplace_back(it.key(), &it.value());
  }
  return c;
}

std::vector<const ComparedRun*> ComparisonInput::runs_of(const std::string& model) const {
  std::vector<const ComparedRun*> out;
  for (const auto& r : runs)
    if (r.model == model) out.push_back(&r);
  return out;
}

std::optional<double> test_value(const json& owner, const std::string& protocol, const std::string& key) {
  auto t = owner.find("test");
  const json& base = t != owner.end() ? *t : owner;  // references hold {"full":..} directly
  auto p = base.find(protocol);
  if (p == base.end()) return std::nullopt;
  return optional_number(*p, key);
}

}  // namespace ftmamba::experiments
