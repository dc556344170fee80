// defines: render_stability_report (see stability_report.h): three tables per tower and the figure of the
// embedding's deviation against the input perturbation.
#include "ftmamba/eval/stability_report.h"

#include <fmt/format.h>

#include <string>

#include "ftmamba/report/document.h"
#include "ftmamba/report/figure.h"
#include "ftmamba/report/write.h"

namespace ftmamba::eval {
namespace fs = std::filesystem;
using nlohmann::json;
using report::Align;
using report::cell;
using report::code;
using report::text;

namespace {

// Each layer's relative deviation, "1.00e-06, 9.71e-07".
std::string layer_deviations(const json& devs) {
  std::string out;
  for (const auto& d : devs) out += fmt::format("{}{:.2e}", out.empty() ? "" : ", ", d.get<double>());
  return out;
}

report::Table lyapunov_table(const json& layers) {
  report::Table t;
  t.columns = {{"layer", Align::kRight},
               {"\u03bb_max, tangent estimate", Align::kRight},
               {"\u03bb_max, exact (diagonal)", Align::kRight},
               {"mean \u03bb over rows", Align::kRight},
               {"dt min / mean / max", Align::kLeft},
               {"max A", Align::kRight}};
  for (const auto& l : layers)
    t.rows.push_back({{cell(fmt::format("{}", l["layer"].get<int64_t>())),
                       cell(fmt::format("{:.4f}", l["lyapunov_tangent"]["max"].get<double>())),
                       cell(fmt::format("{:.4f}", l["lyapunov_exact"]["max"].get<double>())),
                       cell(fmt::format("{:.4f}", l["lyapunov_exact"]["mean"].get<double>())),
                       cell(fmt::format("{:.2e} / {:.2e} / {:.2e}", l["dt"]["min"].get<double>(),
                                        l["dt"]["mean"].get<double>(), l["dt"]["max"].get<double>())),
                       cell(fmt::format("{:.3f}", l["A"]["max"].get<double>()))},
                      false});
  return t;
}

report::Table perturbation_table(const json& rows) {
  report::Table t;
  t.columns = {{"\u03b5", Align::kRight},
               {"embedding deviation", Align::kRight},
               {"deviation / \u03b5", Align::kRight},
               {"layer deviations", Align::kLeft}};
  for (const auto& r : rows)
    t.rows.push_back(
        {{cell(fmt::format("{:.0e}", r["eps"].get<double>())),
          cell(fmt::format("{:.3e}", r["output_rel_dev"].get<double>())),
          cell(fmt::format("{:.3f}", r["ratio"].get<double>())), cell(layer_deviations(r["layer_rel_dev"]))},
         false});
  return t;
}

report::Table precision_table(const json& rows) {
  report::Table t;
  t.columns = {{"precision", Align::kLeft},
               {"embedding deviation from fp32", Align::kRight},
               {"cosine distance", Align::kRight},
               {"layer deviations", Align::kLeft}};
  for (const auto& r : rows)
    t.rows.push_back(
        {{cell(r["precision"].get<std::string>()), cell(fmt::format("{:.3e}", r["output_rel_dev"].get<double>())),
          cell(fmt::format("{:.3e}", r["output_cosine_distance"].get<double>())),
          cell(layer_deviations(r["layer_rel_dev"]))},
         false});
  return t;
}

}  // namespace

void render_stability_report(const json& stability, const fs::path& dir) {
  report::Document doc;
  doc.title = "Stability of " + stability.value("run", std::string("the run"));
  doc.blocks.push_back(report::Paragraph{{text(fmt::format("{} rows of each side of ", stability.value("rows", 0))),
                                          code(stability.value("data", std::string())),
                                          text("; " + stability.value("machine", std::string()) + ".")}});
  std::string dat;
  std::string plots;
  int index = 0;
  for (const auto& [side, t] : stability.at("towers").items()) {
    doc.blocks.push_back(report::Heading{2, side + " tower"});
    doc.blocks.push_back(lyapunov_table(t.at("layers")));
    doc.blocks.push_back(report::Paragraph{
        {text("\u03bb is per step (natural log): the state's perturbations shrink by exp(\u03bb) a step at worst.")}});
    doc.blocks.push_back(perturbation_table(t.at("perturbation")));
    doc.blocks.push_back(precision_table(t.at("precision")));
    dat += fmt::format("# {} tower: eps output_rel_dev\n", side);
    for (const auto& r : t.at("perturbation"))
      dat += fmt::format("{:.6e} {:.6e}\n", r["eps"].get<double>(), r["output_rel_dev"].get<double>());
    dat += "\n\n";
    plots += fmt::format("{}\"stability.dat\" index {} using 1:2 with linespoints lw 2 pt 7 title \"{} tower\"",
                         plots.empty() ? "" : ", ", index++, side);
  }
  doc.blocks.push_back(report::Figure{
      "stability",
      "deviation against eps",
      {text("Relative deviation of each tower's embedding against the relative input perturbation \u03b5, log-log; "
            "the dashed line is deviation = \u03b5.")}});
  const std::string body =
      "  set logscale xy\n  set format x \"%.0e\"\n  set format y \"%.0e\"\n  set grid\n  set key top left\n"
      "  set xlabel \"relative input perturbation eps\"\n  set ylabel \"relative embedding deviation\"\n"
      "  plot " +
      plots + ", x with lines dt 2 lc rgb \"gray\" title \"deviation = eps\"\n";
  const report::FigureJob fig{
      "stability", dat,
      report::figure_script("stability", "Embedding deviation against input perturbation", 800, 560, body)};
  report::write_report(dir, "stability", doc, {fig}, report::Formats::kMarkdownOnly);
}

}  // namespace ftmamba::eval
