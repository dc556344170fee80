// defines: FeatureEncoding (fit on training rows, transform to encoder tensors, JSON round trip),
// EncodedFeatures::index_select and feature_table_from_pairs.
#include "ftmamba/data/preprocess.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <unordered_map>

#include "ftmamba/core/error.h"
#include "ftmamba/data/csv.h"

namespace ftmamba::data {
namespace {

constexpr double kStdFloor = 1e-6;

std::vector<int64_t> offsets_of(const std::vector<std::vector<std::string>>& vocab) {
  std::vector<int64_t> offsets;
  int64_t at = 0;
  for (const auto& v : vocab) {
    offsets.push_back(at);
    at += static_cast<int64_t>(v.size());
  }
  return offsets;
}

// Position of each of `wanted` in `have`, or an Error naming the first one absent.
std::vector<int64_t> match_columns(const std::vector<std::string>& wanted, const std::vector<std::string>& have,
                                   const char* kind) {
  std::vector<int64_t> out;
  for (const auto& name : wanted) {
    const auto it = std::find(have.begin(), have.end(), name);
    if (it == have.end()) {
      throw Error(std::string("feature encoding: the table has no ") + kind + " column '" + name + "'");
    }
    out.push_back(it - have.begin());
  }
  return out;
}

[[noreturn]] void bad_json(const std::string& key, const std::string& what) {
  throw Error("feature encoding JSON: key '" + key + "': " + what);
}

const nlohmann::json& member(const nlohmann::json& j, const std::string& prefix, const char* key) {
  if (!j.is_object()) bad_json(prefix.empty() ? "(root)" : prefix, "expected an object");
  const auto it = j.find(key);
  if (it == j.end()) bad_json(prefix + key, "missing");
  return *it;
}

const nlohmann::json& array_member(const nlohmann::json& j, const std::string& prefix, const char* key) {
  const auto& a = member(j, prefix, key);
  if (!a.is_array()) bad_json(prefix + key, "expected an array");
  return a;
}

std::string string_member(const nlohmann::json& j, const std::string& prefix, const char* key) {
  const auto& s = member(j, prefix, key);
  if (!s.is_string()) bad_json(prefix + key, "expected a string");
  return s.get<std::string>();
}

double number_member(const nlohmann::json& j, const std::string& prefix, const char* key) {
  const auto& v = member(j, prefix, key);
  if (!v.is_number()) bad_json(prefix + key, "expected a number");
  return v.get<double>();
}

}  // namespace

EncodedFeatures EncodedFeatures::to(torch::Device device) const {
  return {numerical.to(device), missing.to(device), categorical.to(device)};
}

EncodedFeatures EncodedFeatures::index_select(const torch::Tensor& rows) const {
  return {numerical.index_select(0, rows), missing.index_select(0, rows), categorical.index_select(0, rows)};
}

int64_t FeatureEncoding::total_categories() const {
  int64_t total = 0;
  for (const auto& v : vocab) total += static_cast<int64_t>(v.size());
  return total;
}

std::vector<int64_t> FeatureEncoding::cardinalities() const {
  std::vector<int64_t> out;
  for (const auto& v : vocab) out.push_back(static_cast<int64_t>(v.size()));
  return out;
}

FeatureEncoding FeatureEncoding::fit(const FeatureTable& table, const std::vector<int64_t>& rows,
                                     int64_t min_frequency) {
  if (min_frequency < 1) throw Error("min_frequency must be at least 1, got " + std::to_string(min_frequency));
  for (const int64_t r : rows) {
    if (r < 0 || r >= table.size()) {
      throw Error("feature encoding: row " + std::to_string(r) + " is outside the table of " +
                  std::to_string(table.size()) + " rows");
    }
  }
  FeatureEncoding e;
  e.numerical_names = table.numerical_names;
  e.categorical_names = table.categorical_names;
  e.min_frequency = min_frequency;

  // Population mean and standard deviation over the present values (two passes for accuracy).
  for (int64_t j = 0; j < table.n_num(); ++j) {
    double sum = 0.0;
    int64_t count = 0;
    for (const int64_t r : rows) {
      const double x = table.num(r, j);
      if (std::isnan(x)) continue;
      sum += x;
      ++count;
    }
    if (count == 0) {
      e.mean.push_back(0.0);
      e.std.push_back(1.0);
      continue;
    }
    const double mean = sum / static_cast<double>(count);
    double sq = 0.0;
    for (const int64_t r : rows) {
      const double x = table.num(r, j);
      if (!std::isnan(x)) sq += (x - mean) * (x - mean);
    }
    e.mean.push_back(mean);
    e.std.push_back(std::max(std::sqrt(sq / static_cast<double>(count)), kStdFloor));
  }

  // Frequent categories first, ties by text, so the same data always gives the same vocabulary.
  for (int64_t j = 0; j < table.n_cat(); ++j) {
    std::unordered_map<std::string, int64_t> counts;
    for (const int64_t r : rows) {
      const std::string& c = table.cat(r, j);
      if (!c.empty()) ++counts[c];
    }
    std::vector<std::pair<std::string, int64_t>> kept;
    for (auto& [c, n] : counts) {
      if (n >= min_frequency) kept.emplace_back(c, n);
    }
    std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    std::vector<std::string> v{""};
    for (auto& [c, n] : kept) v.push_back(std::move(c));
    e.vocab.push_back(std::move(v));
  }
  e.offsets = offsets_of(e.vocab);
  return e;
}

EncodedFeatures FeatureEncoding::transform(const FeatureTable& table) const {
  const std::vector<int64_t> num_cols = match_columns(numerical_names, table.numerical_names, "numerical");
  const std::vector<int64_t> cat_cols = match_columns(categorical_names, table.categorical_names, "categorical");
  const int64_t n = table.size();
  EncodedFeatures out;
  out.numerical = torch::zeros({n, n_num()}, torch::kFloat32);
  out.missing = torch::zeros({n, n_num()}, torch::kFloat32);
  out.categorical = torch::zeros({n, n_cat()}, torch::kInt64);
  float* num = out.numerical.data_ptr<float>();
  float* miss = out.missing.data_ptr<float>();
  int64_t* cat = out.categorical.data_ptr<int64_t>();

  for (int64_t j = 0; j < n_num(); ++j) {
    for (int64_t r = 0; r < n; ++r) {
      const double x = table.num(r, num_cols[j]);
      if (std::isnan(x)) {
        miss[r * n_num() + j] = 1.0f;  // the value stays 0, the standardised training mean
      } else {
        num[r * n_num() + j] = static_cast<float>((x - mean[j]) / std[j]);
      }
    }
  }
  for (int64_t j = 0; j < n_cat(); ++j) {
    std::unordered_map<std::string, int64_t> index;
    for (size_t k = 1; k < vocab[j].size(); ++k) index.emplace(vocab[j][k], static_cast<int64_t>(k));
    for (int64_t r = 0; r < n; ++r) {
      const auto it = index.find(table.cat(r, cat_cols[j]));
      cat[r * n_cat() + j] = offsets[j] + (it == index.end() ? 0 : it->second);
    }
  }
  return out;
}

nlohmann::json FeatureEncoding::to_json() const {
  nlohmann::json num = nlohmann::json::array();
  for (int64_t j = 0; j < n_num(); ++j) {
    num.push_back({{"name", numerical_names[j]}, {"mean", mean[j]}, {"std", std[j]}});
  }
  nlohmann::json cat = nlohmann::json::array();
  for (int64_t j = 0; j < n_cat(); ++j) {
    cat.push_back({{"name", categorical_names[j]}, {"offset", offsets[j]}, {"vocab", vocab[j]}});
  }
  return {{"min_frequency", min_frequency}, {"numerical", num}, {"categorical", cat}};
}

FeatureEncoding FeatureEncoding::from_json(const nlohmann::json& j) {
  FeatureEncoding e;
  const nlohmann::json mf = member(j, "", "min_frequency");
  if (!mf.is_number_integer() || mf.get<int64_t>() < 1) bad_json("min_frequency", "expected an integer >= 1");
  e.min_frequency = mf.get<int64_t>();

  const nlohmann::json num = array_member(j, "", "numerical");
  for (size_t k = 0; k < num.size(); ++k) {
    const std::string prefix = "numerical[" + std::to_string(k) + "].";
    e.numerical_names.push_back(string_member(num[k], prefix, "name"));
    const double mean = number_member(num[k], prefix, "mean");
    const double sd = number_member(num[k], prefix, "std");
    if (!std::isfinite(mean)) bad_json(prefix + "mean", "must be finite");
    if (!std::isfinite(sd) || sd < kStdFloor) bad_json(prefix + "std", "must be finite and at least 1e-6");
    e.mean.push_back(mean);
    e.std.push_back(sd);
  }

  const nlohmann::json cat = array_member(j, "", "categorical");
  for (size_t k = 0; k < cat.size(); ++k) {
    const std::string prefix = "categorical[" + std::to_string(k) + "].";
    e.categorical_names.push_back(string_member(cat[k], prefix, "name"));
    const auto& v = array_member(cat[k], prefix, "vocab");
    std::vector<std::string> words;
    for (const auto& w : v) {
      if (!w.is_string()) bad_json(prefix + "vocab", "expected an array of strings");
      words.push_back(w.get<std::string>());
    }
    if (words.empty() || !words[0].empty()) bad_json(prefix + "vocab", "must start with \"\", the unknown bucket");
    e.vocab.push_back(std::move(words));
  }
  e.offsets = offsets_of(e.vocab);
  // Offsets are stored for readers of the file; they must agree with the vocabularies.
  for (size_t k = 0; k < cat.size(); ++k) {
    const auto it = cat[k].find("offset");
    if (it != cat[k].end() && (!it->is_number_integer() || it->get<int64_t>() != e.offsets[k])) {
      bad_json("categorical[" + std::to_string(k) + "].offset",
               "expected " + std::to_string(e.offsets[k]) + ", the sum of the earlier vocabulary sizes");
    }
  }
  return e;
}

FeatureTable feature_table_from_pairs(const std::string& id, const TableSchema& schema,
                                      const std::vector<std::pair<std::string, std::string>>& pairs) {
  FeatureTable f;
  f.ids = {id};
  f.index = {{id, 0}};
  f.numerical_names = schema.numerical;
  f.categorical_names = schema.categorical;
  f.numerical.assign(schema.numerical.size(), std::numeric_limits<double>::quiet_NaN());
  f.categorical.assign(schema.categorical.size(), "");
  std::set<std::string> given;
  for (const auto& [name, value] : pairs) {
    if (!given.insert(name).second) throw Error("feature '" + name + "' is given twice");
    const auto num = std::find(schema.numerical.begin(), schema.numerical.end(), name);
    if (num != schema.numerical.end()) {
      std::optional<double> v;
      std::string why;
      if (!try_parse_number(value, v, why)) throw Error("feature '" + name + "': " + why);
      if (v) f.numerical[num - schema.numerical.begin()] = *v;
      continue;
    }
    const auto cat = std::find(schema.categorical.begin(), schema.categorical.end(), name);
    if (cat != schema.categorical.end()) {
      f.categorical[cat - schema.categorical.begin()] = value;
      continue;
    }
    if (name == schema.id) throw Error("'" + name + "' is the id column, not a feature");
    std::string known;
    for (const auto* list : {&schema.numerical, &schema.categorical}) {
      for (const auto& c : *list) known += (known.empty() ? "" : ", ") + c;
    }
    throw Error("unknown feature '" + name + "' (the features are: " + known + ")");
  }
  return f;
}

}  // namespace ftmamba::data
