// defines: the figure pipeline every report shares: a gnuplot script that draws one figure as PNG and SVG
// (figure_script), its data and script written beside the figure (write_figure_sources), and drawing them
// atomically (draw_figures).
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace ftmamba::report {

// A figure to draw: figures/NAME.{png,svg} from NAME.dat and NAME.gp.
struct FigureJob {
  std::string name, dat, gp;
};

// A string as a gnuplot string literal.
std::string gp_quote(const std::string& s);

// A whole figure script: a loop over both output formats (width x height pixels) around `body`, which
// draws the figure (it may use multiplot). `what` is the script's first comment line.
std::string figure_script(const std::string& name, const std::string& what, int width, int height,
                          const std::string& body);

void write_figure_sources(const std::filesystem::path& fig_dir, const FigureJob& f);

// Draws each figure to temporary names, then renames them into place. Throws Error when gnuplot is missing
// (saying that the data and scripts are written) or fails.
void draw_figures(const std::filesystem::path& fig_dir, const std::vector<FigureJob>& figures);

}  // namespace ftmamba::report
