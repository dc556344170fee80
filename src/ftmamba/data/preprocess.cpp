// defines: FeatureEncoding (fit on training rows, transform to encoder tensors, JSON round trip),
// EncodedFeatures::index_select and cat, and feature_table_from_pairs.
#include "ftmamba/data/preprocess.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <unordered_map>

#include "ftmamba/core/error.h"
#include "ftmamba/data/csv.h"
#include "ftmamba/data/multi_valued.h"

namespace ftmamba::data {
namespace {

constexpr double kStdFloor = 1e-6;

std::vector<int64_t> offsets_of(const std::vector<std::vector<std::string>>& vocab, int64_t at = 0) {
  std::vector<int64_t> offsets;
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

// The rows a list of vocabularies takes in the shared embedding table.
int64_t entries(const std::vector<std::vector<std::string>>& vocab) {
  int64_t n = 0;
  for (const auto& v : vocab) n += static_cast<int64_t>(v.size());
  return n;
}

// Frequent values first, ties by text, so the same data always gives the same vocabulary; [0] is "", the bucket
// of unknown, rare and missing values.
std::vector<std::string> vocabulary(const std::unordered_map<std::string, int64_t>& counts, int64_t min_frequency) {
  std::vector<std::pair<std::string, int64_t>> kept;
  for (const auto& [c, n] : counts)
    if (n >= min_frequency) kept.emplace_back(c, n);
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  std::vector<std::string> v{""};
  for (auto& [c, n] : kept) v.push_back(std::move(c));
  return v;
}

std::vector<std::string> string_array(const nlohmann::json& a, const std::string& key) {
  std::vector<std::string> words;
  for (const auto& w : a) {
    if (!w.is_string()) bad_json(key, "expected an array of strings");
    words.push_back(w.get<std::string>());
  }
  if (words.empty() || !words[0].empty()) bad_json(key, "must start with \"\", the unknown bucket");
  return words;
}

}  // namespace

EncodedFeatures EncodedFeatures::to(torch::Device device) const {
  return {numerical.to(device), missing.to(device), categorical.to(device)};
}

EncodedFeatures EncodedFeatures::index_select(const torch::Tensor& rows) const {
  return {numerical.index_select(0, rows), missing.index_select(0, rows), categorical.index_select(0, rows)};
}

EncodedFeatures EncodedFeatures::cat(const std::vector<EncodedFeatures>& parts) {
  if (parts.empty()) throw Error("EncodedFeatures::cat: no parts");
  if (parts.size() == 1) return parts[0];
  std::vector<torch::Tensor> numerical, missing, categorical;
  for (const auto& p : parts) {
    numerical.push_back(p.numerical);
    missing.push_back(p.missing);
    categorical.push_back(p.categorical);
  }
  return {torch::cat(numerical), torch::cat(missing), torch::cat(categorical)};
}

int64_t FeatureEncoding::total_categories() const { return entries(vocab) + entries(multi_vocab); }

int64_t FeatureEncoding::categorical_columns() const {
  int64_t total = n_cat();
  for (const int64_t w : multi_widths) total += w;
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
  e.multi_valued_names = table.multi_valued_names;
  e.separator = table.separator;
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

  for (int64_t j = 0; j < table.n_cat(); ++j) {
    std::unordered_map<std::string, int64_t> counts;
    for (const int64_t r : rows) {
      const std::string& c = table.cat(r, j);
      if (!c.empty()) ++counts[c];
    }
    e.vocab.push_back(vocabulary(counts, min_frequency));
  }
  e.offsets = offsets_of(e.vocab);

  // A multi-valued cell counts each of its values once. The width is the most values any row of the table
  // holds (not only the fitted rows), so that transforming the same table never overflows it.
  for (int64_t j = 0; j < table.n_multi(); ++j) {
    std::unordered_map<std::string, int64_t> counts;
    for (const int64_t r : rows)
      for (auto& v : split_values(table.multi(r, j), table.separator)) ++counts[std::move(v)];
    e.multi_vocab.push_back(vocabulary(counts, min_frequency));
    int64_t width = 1;
    for (int64_t r = 0; r < table.size(); ++r)
      width = std::max(width, static_cast<int64_t>(split_values(table.multi(r, j), table.separator).size()));
    e.multi_widths.push_back(std::min(width, kMaxValuesPerCell));
  }
  e.multi_offsets = offsets_of(e.multi_vocab, entries(e.vocab));
  return e;
}

EncodedFeatures FeatureEncoding::transform(const FeatureTable& table) const {
  const std::vector<int64_t> num_cols = match_columns(numerical_names, table.numerical_names, "numerical");
  const std::vector<int64_t> cat_cols = match_columns(categorical_names, table.categorical_names, "categorical");
  const std::vector<int64_t> multi_cols =
      match_columns(multi_valued_names, table.multi_valued_names, "multi-valued categorical");
  const int64_t n = table.size(), width = categorical_columns();
  EncodedFeatures out;
  out.numerical = torch::zeros({n, n_num()}, torch::kFloat32);
  out.missing = torch::zeros({n, n_num()}, torch::kFloat32);
  out.categorical = torch::full({n, width}, -1, torch::kInt64);
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
      cat[r * width + j] = offsets[j] + (it == index.end() ? 0 : it->second);
    }
  }
  int64_t column = n_cat();  // the first column of multi-valued feature j
  for (int64_t j = 0; j < n_multi(); ++j) {
    std::unordered_map<std::string, int64_t> index;
    for (size_t k = 1; k < multi_vocab[j].size(); ++k) index.emplace(multi_vocab[j][k], static_cast<int64_t>(k));
    for (int64_t r = 0; r < n; ++r) {
      const auto values = split_values(table.multi(r, multi_cols[j]), separator);
      if (static_cast<int64_t>(values.size()) > multi_widths[j])
        throw Error("feature '" + multi_valued_names[j] + "' of '" + table.ids[r] + "' has " +
                    std::to_string(values.size()) + " values; this encoding takes at most " +
                    std::to_string(multi_widths[j]) + " (the most the training data held)");
      int64_t* cell = cat + r * width + column;
      if (values.empty()) cell[0] = multi_offsets[j];  // missing: the unknown bucket alone
      for (size_t k = 0; k < values.size(); ++k) {
        const auto it = index.find(values[k]);
        cell[k] = multi_offsets[j] + (it == index.end() ? 0 : it->second);
      }
    }
    column += multi_widths[j];
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
  nlohmann::json out = {{"min_frequency", min_frequency}, {"numerical", num}, {"categorical", cat}};
  if (n_multi() > 0) {  // absent from encodings without such features, so older runs read as before
    nlohmann::json multi = nlohmann::json::array();
    for (int64_t j = 0; j < n_multi(); ++j)
      multi.push_back({{"name", multi_valued_names[j]},
                       {"offset", multi_offsets[j]},
                       {"width", multi_widths[j]},
                       {"vocab", multi_vocab[j]}});
    out["multi_valued"] = std::move(multi);
    out["separator"] = separator;
  }
  return out;
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
    e.vocab.push_back(string_array(array_member(cat[k], prefix, "vocab"), prefix + "vocab"));
  }
  e.offsets = offsets_of(e.vocab);
  const auto multi_it = j.find("multi_valued");
  const nlohmann::json multi = multi_it == j.end() ? nlohmann::json::array() : array_member(j, "", "multi_valued");
  for (size_t k = 0; k < multi.size(); ++k) {
    const std::string prefix = "multi_valued[" + std::to_string(k) + "].";
    e.multi_valued_names.push_back(string_member(multi[k], prefix, "name"));
    e.multi_vocab.push_back(string_array(array_member(multi[k], prefix, "vocab"), prefix + "vocab"));
    const auto& w = member(multi[k], prefix, "width");
    if (!w.is_number_integer() || w.get<int64_t>() < 1 || w.get<int64_t>() > kMaxValuesPerCell)
      bad_json(prefix + "width", "expected an integer from 1 to " + std::to_string(kMaxValuesPerCell));
    e.multi_widths.push_back(w.get<int64_t>());
  }
  if (!multi.empty()) {
    e.separator = string_member(j, "", "separator");
    if (e.separator.empty()) bad_json("separator", "must not be empty");
  }
  e.multi_offsets = offsets_of(e.multi_vocab, entries(e.vocab));
  // Offsets are stored for readers of the file; they must agree with the vocabularies.
  const auto check_offsets = [](const nlohmann::json& list, const std::vector<int64_t>& want, const char* key) {
    for (size_t k = 0; k < list.size(); ++k) {
      const auto it = list[k].find("offset");
      if (it != list[k].end() && (!it->is_number_integer() || it->get<int64_t>() != want[k]))
        bad_json(std::string(key) + "[" + std::to_string(k) + "].offset",
                 "expected " + std::to_string(want[k]) + ", the sum of the earlier vocabulary sizes");
    }
  };
  check_offsets(cat, e.offsets, "categorical");
  check_offsets(multi, e.multi_offsets, "multi_valued");
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
  f.multi_valued_names = schema.multi_valued;
  f.separator = schema.separator;
  f.multi_valued.assign(schema.multi_valued.size(), "");
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
    const auto multi = std::find(schema.multi_valued.begin(), schema.multi_valued.end(), name);
    if (multi != schema.multi_valued.end()) {
      f.multi_valued[multi - schema.multi_valued.begin()] = value;
      continue;
    }
    if (name == schema.id) throw Error("'" + name + "' is the id column, not a feature");
    std::string known;
    for (const auto* list : {&schema.numerical, &schema.categorical, &schema.multi_valued}) {
      for (const auto& c : *list) known += (known.empty() ? "" : ", ") + c;
    }
    throw Error("unknown feature '" + name + "' (the features are: " + known + ")");
  }
  return f;
}

}  // namespace ftmamba::data
