// defines: the tables of the comparison report (see comparison_tables.h).
#include "ftmamba/experiments/comparison_tables.h"

#include <fmt/format.h>

#include <cmath>
#include <iterator>
#include <optional>

#include "ftmamba/experiments/report_json.h"
#include "ftmamba/report/format.h"

namespace ftmamba::experiments {
using report::Align;
using report::cell;
using report::kDash;

namespace {

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

// Sample standard deviation (n - 1); needs two or more values.
double std_of(const std::vector<double>& v) {
  const double m = mean_of(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

}  // namespace

std::string metric_text(double v) { return report::fixed(v, 4); }

report::Table quality_table(const ComparisonInput& c, const std::string& protocol,
                            const std::vector<std::string>& keys) {
  report::Table t;
  t.columns.push_back({"model", Align::kLeft});
  for (const auto& k : keys) t.columns.push_back({k, Align::kRight});
  std::vector<std::vector<std::optional<double>>> means(c.models.size());
  for (size_t m = 0; m < c.models.size(); ++m) {
    report::Row row;
    row.cells.push_back(cell(c.models[m]));
    for (const auto& key : keys) {
      std::vector<double> values;
      for (const ComparedRun* r : c.runs_of(c.models[m]))
        if (auto v = test_value(*r->j, protocol, key)) values.push_back(*v);
      if (values.empty()) {
        row.cells.push_back(cell(kDash));
        means[m].push_back(std::nullopt);
        continue;
      }
      report::Cell cl = cell(metric_text(mean_of(values)));
      if (values.size() > 1) cl.extra = "\u00b1 " + metric_text(std_of(values));
      row.cells.push_back(cl);
      means[m].push_back(mean_of(values));
    }
    t.rows.push_back(row);
  }
  // Bold the best model mean per column; equal as printed counts as a tie.
  for (size_t col = 0; col < keys.size(); ++col) {
    std::optional<double> best;
    for (const auto& m : means)
      if (m[col] && (!best || *m[col] > *best)) best = m[col];
    if (!best || c.models.size() < 2) continue;
    for (size_t m = 0; m < means.size(); ++m)
      if (means[m][col] && metric_text(*means[m][col]) == metric_text(*best)) t.rows[m].cells[col + 1].bold = true;
  }
  for (const auto& [name, ref] : c.references) {
    report::Row row;
    row.set_apart = true;
    row.cells.push_back(cell(name));
    for (const auto& key : keys) {
      auto v = test_value(*ref, protocol, key);
      row.cells.push_back(cell(v ? metric_text(*v) : kDash));
    }
    t.rows.push_back(row);
  }
  return t;
}

report::Table efficiency_table(const ComparisonInput& c) {
  struct Col {
    const char* key;
    const char* title;
    std::string (*format)(double);
  };
  static const Col cols[] = {
      {"parameters", "parameters", [](double v) { return report::group_thousands(v); }},
      {"seconds_per_epoch", "seconds / epoch", [](double v) { return report::fixed(v, 2); }},
      {"train_samples_per_sec", "train samples / s", [](double v) { return report::group_thousands(v); }},
      {"encode_samples_per_sec", "encode samples / s", [](double v) { return report::group_thousands(v); }},
      {"peak_rss_mib", "peak RSS (MiB)", [](double v) { return report::fixed(v, 1); }},
  };
  report::Table t;
  t.columns.push_back({"model", Align::kLeft});
  for (const auto& col : cols) t.columns.push_back({col.title, Align::kRight});
  std::vector<std::vector<std::optional<double>>> means;
  for (const auto& model : c.models) {
    report::Row row;
    row.cells.push_back(cell(model));
    means.emplace_back();
    for (const auto& col : cols) {
      std::vector<double> values;
      for (const ComparedRun* r : c.runs_of(model)) {
        auto e = r->j->find("efficiency");
        if (e != r->j->end())
          if (auto v = optional_number(*e, col.key)) values.push_back(*v);
      }
      means.back().push_back(values.empty() ? std::nullopt : std::optional<double>(mean_of(values)));
      row.cells.push_back(cell(values.empty() ? kDash : col.format(mean_of(values))));
    }
    t.rows.push_back(row);
  }
  if (c.models.size() >= 2) {
    report::Row row;
    row.set_apart = true;
    row.cells.push_back(cell(c.models[0] + " / " + c.models[1]));
    bool any = false;
    for (size_t i = 0; i < std::size(cols); ++i) {
      const auto& a = means[0][i];
      const auto& b = means[1][i];
      const bool ok = a && b && *a > 0 && *b > 0;  // a ratio of missing or zero measurements says nothing
      any = any || ok;
      row.cells.push_back(cell(ok ? report::fixed(*a / *b, 2) + "\u00d7" : kDash));
    }
    if (any) t.rows.push_back(row);
  }
  return t;
}

report::Table runs_table(const ComparisonInput& c) {
  report::Table t;
  t.columns = {{"model", Align::kLeft},       {"seed", Align::kRight},       {"epochs", Align::kRight},
               {"best epoch", Align::kRight}, {"test HR@10", Align::kRight}, {"run folder", Align::kLeft}};
  for (const auto& model : c.models) {
    for (const ComparedRun* r : c.runs_of(model)) {
      report::Row row;
      row.cells.push_back(cell(r->model));
      row.cells.push_back(cell(r->seed.empty() ? kDash : r->seed));
      auto h = r->j->find("history");
      row.cells.push_back(cell(h != r->j->end() && h->is_array() ? std::to_string(h->size()) : kDash));
      auto best = optional_number(*r->j, "best_epoch");
      row.cells.push_back(cell(best ? fmt::format("{}", static_cast<long long>(*best)) : kDash));
      auto hr = test_value(*r->j, "full", "HR@10");
      row.cells.push_back(cell(hr ? metric_text(*hr) : kDash));
      report::Cell dir = cell(r->run_dir.empty() ? kDash : r->run_dir);
      if (!r->run_dir.empty()) dir.href = r->run_dir + "/";
      row.cells.push_back(dir);
      t.rows.push_back(row);
    }
  }
  return t;
}

}  // namespace ftmamba::experiments
