// defines: to_markdown, a Document as GitHub-flavoured markdown, and the escaping it applies to text
// (md_escape) and code spans (md_code).
#pragma once
#include <string>

#include "ftmamba/report/document.h"

namespace ftmamba::report {

// The document as markdown: "# title", then each block after a blank line. A figure shows its PNG, then
// "**Figure N.** caption" with links to its SVG, data and script.
std::string to_markdown(const Document& doc);

// Text with markdown's special characters \ ` * _ [ ] < > | backslash-escaped, and & where it would start a
// character reference (&amp;); an underscore inside a word (d_token, λ_max) stays as it is, since it cannot start
// emphasis there.
std::string md_escape(const std::string& s);

// A code span, delimited by more backticks than any run of them inside it.
std::string md_code(const std::string& s);

}  // namespace ftmamba::report
