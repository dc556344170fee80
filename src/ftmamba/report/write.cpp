// defines: write_report (see write.h).
#include "ftmamba/report/write.h"

#include "ftmamba/io/atomic_file.h"
#include "ftmamba/report/html.h"
#include "ftmamba/report/markdown.h"

namespace ftmamba::report {
namespace fs = std::filesystem;

void write_report(const fs::path& dir, const std::string& stem, const Document& doc,
                  const std::vector<FigureJob>& figures, Formats formats) {
  const fs::path fig_dir = dir / "figures";
  fs::create_directories(fig_dir);
  io::write_file_atomic(dir / (stem + ".md"), to_markdown(doc));
  if (formats == Formats::kMarkdownAndHtml) io::write_file_atomic(dir / (stem + ".html"), to_html(doc));
  for (const auto& f : figures) write_figure_sources(fig_dir, f);
  draw_figures(fig_dir, figures);
}

}  // namespace ftmamba::report
