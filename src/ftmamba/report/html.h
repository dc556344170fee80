// defines: to_html, a Document as one self-contained HTML page (inline style sheet, no outside resources;
// figures as relative <img> links to figures/NAME.svg), and html_escape.
#pragma once
#include <string>

#include "ftmamba/report/document.h"

namespace ftmamba::report {

// The page also records, once loaded, how many of its figures decoded (body data-figures-loaded and
// data-figures-total), so a headless browser can check them.
std::string to_html(const Document& doc);

// Text safe in HTML content and in quoted attribute values: & < > " ' as character references.
std::string html_escape(const std::string& s);

}  // namespace ftmamba::report
