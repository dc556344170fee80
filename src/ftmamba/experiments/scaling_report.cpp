// defines: render_scaling_report (see scaling_report.h): the measured points per model, each model's power law
// (given or fitted here), the log-log figure, and the document around them.
#include "ftmamba/experiments/scaling_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ftmamba/core/error.h"
#include "ftmamba/experiments/report_json.h"
#include "ftmamba/report/document.h"
#include "ftmamba/report/figure.h"
#include "ftmamba/report/format.h"
#include "ftmamba/report/loglog_fit.h"
#include "ftmamba/report/palette.h"
#include "ftmamba/report/write.h"

namespace ftmamba::experiments {
namespace fs = std::filesystem;
using nlohmann::json;
using report::Align;
using report::bold;
using report::cell;
using report::kDash;
using report::text;

namespace {

[[noreturn]] void fail(const std::string& what) { throw Error("scaling.json: " + what); }

struct Point {
  double L, fwd, bwd, total;  // ms; fwd and bwd NaN when not measured
};

// A power law total = exp(log_coef) L^slope over L >= from, fitted over n points.
struct Fit {
  double slope, from, log_coef;
  size_t n;
};

struct Scaling {
  std::vector<std::string> models;                   // in order of first appearance
  std::map<std::string, std::vector<Point>> points;  // by increasing L
  std::map<std::string, std::optional<Fit>> fits;
};

Scaling read_points(const json& j) {
  if (!j.is_object() || !j.contains("points") || !j["points"].is_array() || j["points"].empty())
    fail("missing a non-empty 'points' array");
  Scaling s;
  for (size_t i = 0; i < j["points"].size(); ++i) {
    const json& p = j["points"][i];
    const std::string where = fmt::format("points[{}]", i);
    if (!p.is_object() || !p.contains("model") || !p["model"].is_string()) fail(where + ": missing 'model'");
    auto L = optional_number(p, "L"), total = optional_number(p, "total_ms");
    if (!L || !total || *L <= 0 || *total <= 0) fail(where + ": needs positive 'L' and 'total_ms'");
    const std::string model = p["model"].get<std::string>();
    if (!s.points.count(model)) s.models.push_back(model);
    s.points[model].push_back({*L, optional_number(p, "forward_ms").value_or(std::nan("")),
                               optional_number(p, "backward_ms").value_or(std::nan("")), *total});
  }
  for (auto& [m, pts] : s.points)
    std::sort(pts.begin(), pts.end(), [](const Point& a, const Point& b) { return a.L < b.L; });
  return s;
}

// Per model: the slope (given, or fitted here), the L it holds from, and the level that fits best for it.
void fit_models(const json& j, Scaling& s) {
  for (const auto& m : s.models) {
    const auto& pts = s.points[m];
    const json* given = nullptr;
    if (j.contains("fits") && j["fits"].is_object() && j["fits"].contains(m) && j["fits"][m].is_object())
      given = &j["fits"][m];
    const double slope = given ? optional_number(*given, "slope").value_or(std::nan("")) : std::nan("");  // NaN: fit
    const double from = given ? optional_number(*given, "slope_from_L").value_or(pts.front().L) : pts.front().L;
    std::vector<double> xs, ys;
    for (const auto& p : pts)
      if (p.L >= from) {
        xs.push_back(p.L);
        ys.push_back(p.total);
      }
    if (xs.empty()) continue;
    if (!std::isnan(slope)) {
      double sum = 0;
      for (size_t i = 0; i < xs.size(); ++i) sum += std::log(ys[i]) - slope * std::log(xs[i]);
      s.fits[m] = Fit{slope, from, sum / static_cast<double>(xs.size()), xs.size()};
    } else if (xs.size() >= 2 && xs.front() != xs.back()) {
      const report::PowerLawFit f = report::fit_loglog(xs, ys);
      s.fits[m] = Fit{f.slope, from, f.log_coef, xs.size()};
    }
  }
}

// figures/scaling: measured points per model, and each fit's line over its range, on log-log axes.
report::FigureJob scaling_figure(Scaling& s) {
  std::string dat = "# time per training step (ms) against sequence length L; one block per model (gnuplot 'index')\n";
  dat += "# then one block per fitted model with two points on the power-law line\n";
  std::string plot;
  int block = 0;
  for (size_t i = 0; i < s.models.size(); ++i) {
    if (block) dat += "\n\n";
    dat += fmt::format("# index {}: {} measured\n# L forward_ms backward_ms total_ms\n", block, s.models[i]);
    for (const auto& p : s.points[s.models[i]]) {
      auto num = [](double v) { return std::isnan(v) ? std::string("?") : fmt::format("{:.6g}", v); };
      dat += fmt::format("{:g} {} {} {:.6g}\n", p.L, num(p.fwd), num(p.bwd), p.total);
    }
    plot += fmt::format("    \"scaling.dat\" index {} using 1:4 with points lc rgb \"{}\" pt 7 ps 1.1 title {}, \\\n",
                        block, report::series_colour(static_cast<int>(i)), report::gp_quote(s.models[i] + " measured"));
    ++block;
  }
  for (size_t i = 0; i < s.models.size(); ++i) {
    const auto& f = s.fits[s.models[i]];
    if (!f) continue;
    const double hi = s.points[s.models[i]].back().L;
    const report::PowerLawFit line{f->slope, f->log_coef};
    dat += fmt::format("\n\n# index {}: {} fit, slope {:.4f} over L >= {:g}\n# L total_ms\n{:g} {:.6g}\n{:g} {:.6g}\n",
                       block, s.models[i], f->slope, f->from, f->from, line.at(f->from), hi, line.at(hi));
    plot += fmt::format(
        "    \"scaling.dat\" index {} using 1:2 with lines lc rgb \"{}\" dt 2 lw 2 title {}, \\\n", block,
        report::series_colour(static_cast<int>(i)),
        report::gp_quote(fmt::format("{} fit: slope {:.2f} (L \u2265 {:g})", s.models[i], f->slope, f->from)));
    ++block;
  }
  plot.resize(plot.size() - 4);  // drop the last ", \"
  plot += "\n";
  std::string body;
  body += "  set title \"Training step time against sequence length\" font \",14\"\n";
  body += "  set grid lc rgb \"#dddddd\"\n  set border lc rgb \"#444444\"\n";
  double lo = std::numeric_limits<double>::infinity(), hi = 0;
  for (const auto& m : s.models) {
    lo = std::min(lo, s.points[m].front().L);
    hi = std::max(hi, s.points[m].back().L);
  }
  body += "  set logscale xy\n  set format x \"%g\"\n  set format y \"%g\"\n";
  body += fmt::format("  set xrange [{:g}:{:g}]\n", lo / 1.4, hi * 1.4);
  body += "  set xlabel \"sequence length L (tokens)\"\n  set ylabel \"forward + backward time (ms)\"\n";
  body += "  set key top left opaque box lc rgb \"#cccccc\" samplen 3 spacing 1.1\n";
  body += "  plot \\\n" + plot;
  return report::FigureJob{
      "scaling", dat,
      report::figure_script("scaling", "Step time against sequence length, log-log, with fitted power laws", 1000, 600,
                            body)};
}

// Milliseconds: 3 decimals below 10, 2 below 100, then 1.
std::string ms_text(double v) {
  if (std::isnan(v)) return kDash;
  return report::fixed(v, v < 10 ? 3 : v < 100 ? 2 : 1);
}

void render_scaling(const json& j, const fs::path& dir) {
  Scaling s = read_points(j);
  fit_models(j, s);

  report::Document doc;
  doc.title = j.value("title", std::string("Time against sequence length"));
  report::List meta;
  std::vector<std::string> shape;
  for (const char* key : {"batch", "d_token", "n_layers"})
    if (auto v = optional_number(j, key)) shape.push_back(fmt::format("{} {}", key, static_cast<long long>(*v)));
  if (!shape.empty()) meta.items.push_back({bold("Shape:"), text(" "), text(report::join(shape))});
  if (!optional_string(j, "machine").empty())
    meta.items.push_back({bold("Machine:"), text(" "), text(optional_string(j, "machine"))});
  if (!meta.items.empty()) doc.blocks.push_back(meta);
  if (!optional_string(j, "command").empty()) {
    doc.blocks.push_back(report::Paragraph{{bold("Command:")}});
    doc.blocks.push_back(report::CodeBlock{optional_string(j, "command")});
  }

  doc.blocks.push_back(report::Heading{2, "Scaling exponents"});
  doc.blocks.push_back(report::Paragraph{
      {text("Slope of log(total time) against log(L), least squares over the points with L at or above the "
            "threshold: 1 is linear in the sequence length, 2 quadratic.")}});
  report::Table slopes;
  slopes.columns = {{"model", Align::kLeft},
                    {"slope", Align::kRight},
                    {"fitted over L \u2265", Align::kRight},
                    {"points fitted", Align::kRight}};
  for (const auto& m : s.models) {
    const auto& f = s.fits[m];
    slopes.rows.push_back({{cell(m), cell(f ? report::fixed(f->slope, 2) : kDash),
                            cell(f ? fmt::format("{:g}", f->from) : kDash), cell(f ? std::to_string(f->n) : kDash)},
                           false});
  }
  doc.blocks.push_back(slopes);

  const report::FigureJob fig = scaling_figure(s);
  doc.blocks.push_back(report::Heading{2, "Time against sequence length"});
  doc.blocks.push_back(report::Figure{
      "scaling",
      "Step time against sequence length",
      {text("Forward + backward time per step against L on log-log axes: measured points and the fitted power law "
            "(dashed) over the fitted range.")}});

  doc.blocks.push_back(report::Heading{2, "Measurements"});
  report::Table pts;
  pts.columns = {{"model", Align::kLeft},
                 {"L", Align::kRight},
                 {"forward (ms)", Align::kRight},
                 {"backward (ms)", Align::kRight},
                 {"total (ms)", Align::kRight}};
  for (const auto& m : s.models)
    for (const auto& p : s.points[m])
      pts.rows.push_back({{cell(m), cell(fmt::format("{:g}", p.L)), cell(ms_text(p.fwd)), cell(ms_text(p.bwd)),
                           cell(ms_text(p.total))},
                          false});
  doc.blocks.push_back(pts);

  report::write_report(dir, "scaling", doc, {fig});
}

}  // namespace

void render_scaling_report(const json& scaling, const fs::path& dir) {
  try {
    render_scaling(scaling, dir);
  } catch (const json::exception& e) {
    throw Error(std::string("scaling.json: ") + e.what());
  }
}

}  // namespace ftmamba::experiments
