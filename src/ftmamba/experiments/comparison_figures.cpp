// defines: the figures of the comparison report (see comparison_figures.h): their data files and the gnuplot
// scripts that draw them.
#include "ftmamba/experiments/comparison_figures.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "ftmamba/experiments/popularity_bins.h"
#include "ftmamba/experiments/report_json.h"
#include "ftmamba/report/palette.h"

namespace ftmamba::experiments {
using report::gp_quote;

namespace {

std::string dat_label(const ComparedRun& r) { return r.model + "/seed" + r.seed; }

// Colour = model; dash pattern and marker = seed.
std::string run_style(const ComparedRun& r) {
  return fmt::format("lc rgb \"{}\" dt {} pt {} ps 0.8 lw 1.5", report::series_colour(r.model_index),
                     report::series_dash(r.seed_index), report::series_point(r.seed_index));
}

}  // namespace

std::optional<report::FigureJob> hr_per_epoch_figure(const ComparisonInput& c) {
  std::string dat =
      "# validation HR@k per epoch; one block per run (gnuplot 'index' N), blocks split by two blank lines\n";
  dat += "# columns: epoch";
  for (int64_t k : c.ks) dat += fmt::format(" HR@{}", k);
  dat += "\n";
  std::vector<const ComparedRun*> drawn;
  std::vector<bool> has_k(c.ks.size(), false);  // a panel only for a k some run reports: gnuplot fails on no data
  int64_t max_epoch = 0;
  for (const auto& model : c.models) {
    for (const ComparedRun* r : c.runs_of(model)) {
      auto h = r->j->find("history");
      if (h == r->j->end() || !h->is_array() || h->empty()) continue;
      if (!drawn.empty()) dat += "\n\n";
      dat += fmt::format("# index {}: {}\n", drawn.size(), dat_label(*r));
      int64_t n = 0;
      for (const auto& e : *h) {
        ++n;
        const auto epoch_field = optional_number(e, "epoch");
        const int64_t epoch = epoch_field ? static_cast<int64_t>(*epoch_field) : n;
        max_epoch = std::max(max_epoch, epoch);
        dat += std::to_string(epoch);
        auto valid = e.find("valid");
        for (size_t ki = 0; ki < c.ks.size(); ++ki) {
          auto v = valid != e.end() ? optional_number(*valid, fmt::format("HR@{}", c.ks[ki])) : std::nullopt;
          dat += v ? fmt::format(" {:.6g}", *v) : " ?";
          has_k[ki] = has_k[ki] || v.has_value();
        }
        dat += "\n";
      }
      drawn.push_back(r);
    }
  }
  std::vector<size_t> panel_k;  // indices into c.ks
  for (size_t ki = 0; ki < c.ks.size(); ++ki)
    if (has_k[ki]) panel_k.push_back(ki);
  if (drawn.empty() || panel_k.empty()) return std::nullopt;

  const int panels = static_cast<int>(panel_k.size());
  // One legend for all panels, below them. gnuplot fills a key column by column, so listing the runs seed by
  // seed (with blank slots for missing runs) gives a row per model and a column per seed.
  std::vector<int> drawn_models, drawn_seeds;
  for (const ComparedRun* r : drawn) {
    if (std::find(drawn_models.begin(), drawn_models.end(), r->model_index) == drawn_models.end())
      drawn_models.push_back(r->model_index);
    if (std::find(drawn_seeds.begin(), drawn_seeds.end(), r->seed_index) == drawn_seeds.end())
      drawn_seeds.push_back(r->seed_index);
  }
  std::sort(drawn_seeds.begin(), drawn_seeds.end());
  std::vector<const ComparedRun*> key_order;  // nullptr: a blank slot
  int key_rows;
  if (drawn_seeds.size() <= 4) {
    key_rows = static_cast<int>(drawn_models.size());
    for (int seed : drawn_seeds)
      for (int model : drawn_models) {
        const ComparedRun* found = nullptr;
        for (const ComparedRun* r : drawn)
          if (r->model_index == model && r->seed_index == seed) found = r;
        key_order.push_back(found);
      }
  } else {
    key_rows = (static_cast<int>(drawn.size()) + 3) / 4;
    key_order = drawn;
  }
  const int width = std::max(700, 370 * panels);  // 3 panels fit the HTML column without shrinking the text
  const int height = 400 + 22 * key_rows;
  const double key_h = (22.0 * key_rows + 20) / height, title_h = 34.0 / height, panel_w = 1.0 / panels;
  std::string body;
  body += "  set multiplot title \"Validation HR@k per epoch\" font \",14\"\n";
  body += "  set grid lc rgb \"#dddddd\"\n  set border lc rgb \"#444444\"\n  unset key\n";
  body += "  set xlabel \"epoch\"\n  set yrange [0:*]\n  set format y \"%g\"\n";
  body += max_epoch <= 15 ? "  set xtics 1\n" : "  set xtics autofreq\n";
  body += fmt::format("  set xrange [{}:{}]\n", max_epoch > 1 ? 1 : 0, std::max<int64_t>(max_epoch, 2));
  for (int p = 0; p < panels; ++p) {
    body += fmt::format("  set origin {:.4f},{:.4f}\n  set size {:.4f},{:.4f}\n", p * panel_w, key_h, panel_w,
                        1 - key_h - title_h);
    const int64_t k = c.ks[panel_k[static_cast<size_t>(p)]];
    body += fmt::format("  set title \"HR@{}\"\n  set ylabel \"validation HR@{}\"\n", k, k);
    body += "  plot \\\n";
    for (size_t i = 0; i < drawn.size(); ++i)
      body +=
          fmt::format("    \"hr_per_epoch.dat\" index {} using 1:{} with linespoints {} notitle{}\n", i,
                      panel_k[static_cast<size_t>(p)] + 2, run_style(*drawn[i]), i + 1 < drawn.size() ? ", \\" : "");
  }
  // The legend strip: an empty plot across the bottom whose only content is the key.
  body += fmt::format("  set origin 0,0\n  set size 1,{:.4f}\n", key_h);
  body += "  unset title\n  unset xlabel\n  unset ylabel\n  unset border\n  unset tics\n  unset grid\n";
  body += "  set xrange [0:1]\n  set yrange [0:1]\n  set margins 0,0,0,0\n";
  body +=
      fmt::format("  set key center center vertical maxrows {} box lc rgb \"#cccccc\" samplen 4 width 2\n", key_rows);
  body += "  plot \\\n";
  for (size_t i = 0; i < key_order.size(); ++i) {  // y = 2 lies outside [0:1]: only the key entries show
    body += key_order[i] ? fmt::format("    2 with linespoints {} title {}", run_style(*key_order[i]),
                                       gp_quote(key_order[i]->label()))
                         : std::string("    2 with dots lc rgb \"white\" title \" \"");
    body += i + 1 < key_order.size() ? ", \\\n" : "\n";
  }
  body += "  unset multiplot\n";
  return report::FigureJob{
      "hr_per_epoch", dat,
      report::figure_script("hr_per_epoch", "Validation HR@k per epoch, one panel per k, one line per run", width,
                            height, body)};
}

std::optional<PopularityFigure> popularity_bias_figure(const ComparisonInput& c) {
  std::vector<const ComparedRun*> drawn;
  std::vector<std::vector<double>> diffs;
  int64_t n_items = -1, k = 0;
  for (const auto& model : c.models) {
    for (const ComparedRun* r : c.runs_of(model)) {
      auto pb = r->j->find("popularity_bias");
      if (pb == r->j->end() || !pb->is_object()) continue;
      const std::string where = "runs[" + r->label() + "].popularity_bias";
      auto pred = number_array(*pb, "predicted", where), act = number_array(*pb, "actual", where);
      if (pred.size() != act.size()) comparison_error(where, "'predicted' and 'actual' differ in length");
      if (n_items >= 0 && static_cast<int64_t>(pred.size()) != n_items)
        comparison_error(where, "runs disagree on the number of items");
      n_items = static_cast<int64_t>(pred.size());
      if (auto kk = optional_number(*pb, "k")) k = static_cast<int64_t>(*kk);
      std::vector<double> d(pred.size());
      for (size_t i = 0; i < pred.size(); ++i) d[i] = pred[i] - act[i];
      diffs.push_back(std::move(d));
      drawn.push_back(r);
    }
  }
  if (drawn.empty() || n_items <= 0) return std::nullopt;
  const auto bins = popularity_bins(n_items);

  std::string dat = "# sum over each popularity bin of (predicted - actual); rank 1 = most popular item in training\n";
  dat += fmt::format("# {} items in {} bins with log-spaced rank edges floor(n^(b/{})); top-k = {}\n", n_items,
                     bins.size(), kPopularityBins, k);
  dat += "# columns: first_rank last_rank mid_rank(geometric)";
  for (const ComparedRun* r : drawn) {  // appended piecewise: GCC 12 misreports `" " + s` as an overflow at -O3
    dat += ' ';
    dat += dat_label(*r);
  }
  dat += "\n";
  for (const auto& b : bins) {
    dat += fmt::format("{} {} {:.6g}", b.first_rank, b.last_rank,
                       std::sqrt(static_cast<double>(b.first_rank) * static_cast<double>(b.last_rank)));
    for (const auto& d : diffs) {
      double s = 0;
      for (int64_t rank = b.first_rank; rank <= b.last_rank; ++rank) s += d[static_cast<size_t>(rank - 1)];
      dat += fmt::format(" {:.12g}", s);
    }
    dat += "\n";
  }

  std::string body;
  body += "  set title \"Over/under-recommendation by item popularity\" font \",14\"\n";
  body += "  set grid lc rgb \"#dddddd\"\n  set border lc rgb \"#444444\"\n";
  body += "  set logscale x 10\n  set format x \"%g\"\n";
  body += fmt::format("  set xrange [0.8:{}]\n", static_cast<double>(n_items) * 1.25);
  body += "  set xlabel \"item popularity rank (1 = most popular; log scale)\"\n";
  body += fmt::format("  set ylabel \"predicted - actual, summed per bin (top-{})\"\n", k);
  body += "  set key top right opaque box lc rgb \"#cccccc\" samplen 3 spacing 1.1\n";
  body += "  plot 0 with lines lc rgb \"#555555\" lw 1 notitle, \\\n";
  for (size_t i = 0; i < drawn.size(); ++i) {
    const ComparedRun& r = *drawn[i];
    body += fmt::format(
        "    \"popularity_bias.dat\" using 3:{} with linespoints lc rgb \"{}\" dt {} pt {} ps 0.7 lw 1.5 title {}{}\n",
        i + 4, report::series_colour(r.model_index), report::series_dash(r.seed_index),
        report::series_point(r.seed_index), gp_quote(r.label()), i + 1 < drawn.size() ? ", \\" : "");
  }
  PopularityFigure out;
  out.job = report::FigureJob{
      "popularity_bias", dat,
      report::figure_script("popularity_bias",
                            "Over/under-recommendation by item popularity: per-bin sum of predicted - actual", 1100,
                            560, body)};
  out.k = k;
  out.n_items = n_items;
  out.n_bins = bins.size();
  return out;
}

}  // namespace ftmamba::experiments
