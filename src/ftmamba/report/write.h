// defines: write_report, which writes a Document and its figures into a report folder: STEM.md (and
// STEM.html), then figures/NAME.{dat,gp} of each figure, then the figures drawn to figures/NAME.{png,svg}.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "ftmamba/report/document.h"
#include "ftmamba/report/figure.h"

namespace ftmamba::report {

enum class Formats { kMarkdownAndHtml, kMarkdownOnly };

// Every file is written atomically, the markdown first so that the numbers survive a failed figure. Throws
// Error when gnuplot is missing or fails, after the text and the figure data and scripts are written.
void write_report(const std::filesystem::path& dir, const std::string& stem, const Document& doc,
                  const std::vector<FigureJob>& figures, Formats formats = Formats::kMarkdownAndHtml);

}  // namespace ftmamba::report
