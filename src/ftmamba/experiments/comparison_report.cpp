// defines: render_comparison_report (see comparison_report.h): the report's document, section by section, from
// the tables of comparison_tables.h and the figures of comparison_figures.h.
#include "ftmamba/experiments/comparison_report.h"

#include <fmt/format.h>

#include <string>
#include <vector>

#include "ftmamba/core/error.h"
#include "ftmamba/eval/reference_rankers.h"
#include "ftmamba/experiments/comparison_figures.h"
#include "ftmamba/experiments/comparison_input.h"
#include "ftmamba/experiments/comparison_popularity_check.h"
#include "ftmamba/experiments/comparison_tables.h"
#include "ftmamba/experiments/popularity_bins.h"
#include "ftmamba/experiments/report_json.h"
#include "ftmamba/report/document.h"
#include "ftmamba/report/format.h"
#include "ftmamba/report/write.h"

namespace ftmamba::experiments {
namespace fs = std::filesystem;
using nlohmann::json;
using report::bold;
using report::code;
using report::text;

namespace {

// What was compared, and how: dataset, models and seeds, date, machine, command.
void add_setup(report::Document& doc, const json& j, const ComparisonInput& c) {
  report::List meta;
  if (j.contains("dataset") && j["dataset"].is_object()) {
    const json& d = j["dataset"];
    report::Inline item{bold("Dataset:"), text(" ")};
    if (!optional_string(d, "dir").empty()) item.push_back(code(optional_string(d, "dir")));
    const std::string preset = optional_string(d, "preset");
    item.push_back(text(preset.empty() ? " (real data)" : " (synthetic preset "));
    if (!preset.empty()) {
      item.push_back(code(preset));
      item.push_back(text(")"));
    }
    std::vector<std::string> sizes;
    for (const char* key : {"users", "items", "interactions"})
      if (auto v = optional_number(d, key)) sizes.push_back(report::group_thousands(*v) + " " + key);
    if (!sizes.empty()) item.push_back(text(": " + report::join(sizes)));
    meta.items.push_back(item);
  }
  const std::string seeds = join_values(j.value("seeds", json::array()));
  meta.items.push_back({bold("Models:"), text(" "),
                        text(report::join(c.models) + (seeds.empty() ? "" : "; seeds " + seeds) +
                             fmt::format(" ({} run{})", c.runs.size(), c.runs.size() == 1 ? "" : "s"))});
  if (!optional_string(j, "created").empty())
    meta.items.push_back({bold("Created:"), text(" "), text(optional_string(j, "created"))});
  if (!optional_string(j, "machine").empty())
    meta.items.push_back({bold("Machine:"), text(" "), text(optional_string(j, "machine"))});
  doc.blocks.push_back(meta);
  if (!optional_string(j, "command").empty()) {
    doc.blocks.push_back(report::Paragraph{{bold("Command:")}});
    doc.blocks.push_back(report::CodeBlock{optional_string(j, "command")});
  }
}

void add_quality(report::Document& doc, const ComparisonInput& c) {
  const std::string spread =
      c.n_seeds > 1 ? fmt::format("mean \u00b1 sample standard deviation (n \u2212 1) over {} seeds", c.n_seeds)
                    : "a single seed";
  std::vector<std::string> keys;
  for (int64_t k : c.ks)
    for (const char* m : {"P", "R", "MRR", "HR"}) keys.push_back(fmt::format("{}@{}", m, k));
  doc.blocks.push_back(report::Heading{2, "Quality: full-catalog ranking"});
  doc.blocks.push_back(report::Paragraph{{text(
      "Test metrics, each held-out item ranked against the whole catalog with the user's training items "
      "masked. Model rows: " +
      spread + ", 4 decimals; the best model value per column is bold. " +
      (c.references.empty() ? std::string() : "The rows below the models are seed-independent reference rankers."))}});
  doc.blocks.push_back(quality_table(c, "full", keys));
  if (!c.references.empty()) {
    report::List legend;
    for (const auto& [name, metrics] : c.references)
      if (const auto what = eval::reference_description(name); !what.empty())
        legend.items.push_back({bold(name + ":"), text(" " + what)});
    if (!legend.items.empty()) doc.blocks.push_back(legend);
  }
  for (const auto& warning : comparison_popularity_warnings(c))
    doc.blocks.push_back(report::Paragraph{{bold("Below popularity:"), text(" " + warning)}});
  doc.blocks.push_back(report::Heading{2, "Quality: sampled protocol"});
  doc.blocks.push_back(
      report::Paragraph{{text("The held-out item ranked against the run's stored sampled negatives (drawn once, so "
                              "runs compare on the same candidates). Same conventions as above.")}});
  doc.blocks.push_back(quality_table(c, "sampled", {"HR@10", "NDCG@10", "MRR@10"}));
}

// The figures whose data some run has, each under its own heading; their jobs go to `figures`.
void add_figures(report::Document& doc, const ComparisonInput& c, std::vector<report::FigureJob>& figures) {
  if (auto f = hr_per_epoch_figure(c)) {
    doc.blocks.push_back(report::Heading{2, "HR@k per epoch"});
    std::vector<std::string> ks;
    for (int64_t k : c.ks) ks.push_back(std::to_string(k));
    doc.blocks.push_back(
        report::Figure{"hr_per_epoch",
                       "Validation HR@k per epoch",
                       {text("Validation hit ratio at k = " + report::join(ks) +
                             " after each epoch, one panel per k. One line per run: colour = model, dash pattern and "
                             "marker = seed.")}});
    figures.push_back(*f);
  }
  if (auto f = popularity_bias_figure(c)) {
    doc.blocks.push_back(report::Heading{2, "Over/under-recommendation by item popularity"});
    doc.blocks.push_back(report::Figure{
        "popularity_bias",
        "Predicted minus actual test interactions by item popularity",
        {text(fmt::format(
            "Items are ranked by training popularity (rank 1 = most popular; log axis) and grouped into {} bins with "
            "log-spaced rank edges floor(n^(b/{})), b = 0, 1, \u2026, for n = {} items (empty bins merged away, so "
            "the most popular items get a bin each). Each point is the sum over a bin's items of predicted \u2212 "
            "actual, where predicted = (test users with the item in their top-{}) / {} and actual = test users whose "
            "held-out item it is; above zero the model over-recommends the bin, below zero it under-recommends it. "
            "Plotted at the bin's geometric mid rank; one line per run, colour = model, dash pattern = seed.",
            f->n_bins, kPopularityBins, report::group_thousands(static_cast<double>(f->n_items)), f->k, f->k))}});
    figures.push_back(f->job);
  }
}

void render_comparison(const json& j, const fs::path& report_dir) {
  const ComparisonInput c = read_comparison_input(j);
  report::Document doc;
  doc.title = j.value("title", std::string("Model comparison"));
  add_setup(doc, j, c);
  add_quality(doc, c);
  std::vector<report::FigureJob> figures;
  add_figures(doc, c, figures);
  doc.blocks.push_back(report::Heading{2, "Efficiency"});
  doc.blocks.push_back(report::Paragraph{{text(
      "Mean over each model's seeds. Samples/s count training (user, item) pairs and encoded rows; peak RSS is "
      "the process's resident memory high-water mark." +
      std::string(c.models.size() >= 2 ? " The last row divides the first model's value by the second's." : ""))}});
  doc.blocks.push_back(efficiency_table(c));
  doc.blocks.push_back(report::Heading{2, "Runs"});
  doc.blocks.push_back(report::Paragraph{{text("Each run's folder holds its config, weights, history and metrics.")}});
  doc.blocks.push_back(runs_table(c));
  report::write_report(report_dir, "report", doc, figures);
}

}  // namespace

void render_comparison_report(const json& comparison, const fs::path& report_dir) {
  try {
    render_comparison(comparison, report_dir);
  } catch (const json::exception& e) {  // a value of the wrong type
    throw Error(std::string("comparison.json: ") + e.what());
  }
}

}  // namespace ftmamba::experiments
