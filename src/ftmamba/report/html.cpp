// defines: the HTML renderer of a Document (see html.h): its style sheet, its figure load check, and the
// markup of each block.
#include "ftmamba/report/html.h"

#include <fmt/format.h>

namespace ftmamba::report {

namespace {

constexpr const char* kCss = R"css(
:root { color-scheme: light; }
body { margin: 0; background: #fff; color: #1b1f24;
       font: 16px/1.55 "DejaVu Sans", "Segoe UI", "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 28px 36px 56px; }
h1 { font-size: 1.75rem; line-height: 1.25; margin: 0 0 .6em; }
h2 { font-size: 1.25rem; margin: 2.2em 0 .6em; padding-bottom: .25em; border-bottom: 1px solid #d8dde3; }
p, li { max-width: 80ch; }
ul.meta { padding-left: 1.2em; }
a { color: #0b5cad; }
code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .88em;
       background: #f1f3f5; padding: .08em .3em; border-radius: 3px; }
pre { background: #f6f8fa; border: 1px solid #e1e4e8; border-radius: 4px; padding: .7em 1em;
      white-space: pre-wrap; word-break: break-all; font-size: .85rem; }
pre code { background: none; padding: 0; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; margin: .4em 0 1.2em; font-size: .86rem; }
th, td { padding: .35em .65em; border-bottom: 1px solid #e3e6ea; vertical-align: top; text-align: left; }
thead th { background: #f3f5f8; border-bottom: 2px solid #c9ced6; white-space: nowrap; }
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td .sd { display: block; color: #6a737d; font-size: .85em; }
tr.ref td { color: #57606a; font-style: italic; background: #fafbfc; }
tr.ref:first-of-type td, tr:not(.ref) + tr.ref td { border-top: 2px solid #c9ced6; }
figure { margin: 1em 0 2em; }
figure img { display: block; width: 100%; height: auto; border: 1px solid #e6e8eb; }
figcaption { margin-top: .5em; font-size: .9rem; color: #3d444d; max-width: 100ch; }
)css";

// After load, records how many figures actually decoded, so a headless browser can check them.
constexpr const char* kScript = R"js(
window.addEventListener('load', function () {
  var images = Array.prototype.slice.call(document.images);
  var loaded = images.filter(function (im) { return im.complete && im.naturalWidth > 0; }).length;
  document.body.dataset.figuresLoaded = String(loaded);
  document.body.dataset.figuresTotal = String(images.length);
});
)js";

std::string html_link(const std::string& href, const std::string& inner_html) {
  return "<a href=\"" + html_escape(href) + "\">" + inner_html + "</a>";
}

std::string html_inline(const Inline& spans) {
  std::string out;
  for (const auto& s : spans) {
    switch (s.kind) {
      case Span::kText:
        out += html_escape(s.text);
        break;
      case Span::kCode:
        out += "<code>" + html_escape(s.text) + "</code>";
        break;
      case Span::kBold:
        out += "<strong>" + html_escape(s.text) + "</strong>";
        break;
      case Span::kLink:
        out += html_link(s.href, html_escape(s.text));
        break;
    }
  }
  return out;
}

// Right-aligned columns carry class "num"; set-apart rows class "ref".
std::string html_table(const Table& t) {
  auto numeric = [&](size_t i) { return i < t.columns.size() && t.columns[i].align == Align::kRight; };
  std::string out = "<div class=\"table-wrap\"><table>\n<thead><tr>";
  for (size_t i = 0; i < t.columns.size(); ++i)
    out += std::string(numeric(i) ? "<th class=\"num\">" : "<th>") + html_escape(t.columns[i].title) + "</th>";
  out += "</tr></thead>\n<tbody>\n";
  for (const auto& row : t.rows) {
    out += row.set_apart ? "<tr class=\"ref\">" : "<tr>";
    for (size_t i = 0; i < row.cells.size(); ++i) {
      const Cell& c = row.cells[i];
      std::string v = html_escape(c.value);
      if (!c.href.empty()) v = html_link(c.href, v);
      if (c.bold) v = "<strong>" + v + "</strong>";
      if (!c.extra.empty()) v += "<span class=\"sd\">" + html_escape(c.extra) + "</span>";
      out += std::string(numeric(i) ? "<td class=\"num\">" : "<td>") + v + "</td>";
    }
    out += "</tr>\n";
  }
  return out + "</tbody>\n</table></div>\n";
}

std::string html_figure(const Figure& f, int number) {
  const std::string base = html_escape("figures/" + f.name), name = html_escape(f.name);
  return "<figure>\n<img src=\"" + base + ".svg\" alt=\"" + html_escape(f.alt) + "\">\n" +
         fmt::format("<figcaption><strong>Figure {}.</strong> ", number) + html_inline(f.caption) + " (<a href=\"" +
         base + ".png\">PNG</a>, data <a href=\"" + base + ".dat\">" + name + ".dat</a>, script <a href=\"" + base +
         ".gp\">" + name + ".gp</a>)</figcaption>\n</figure>\n";
}

}  // namespace

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string to_html(const Document& doc) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<title>" + html_escape(doc.title) + "</title>\n<style>" + kCss + "</style>\n</head>\n<body>\n<main>\n";
  out += "<h1>" + html_escape(doc.title) + "</h1>\n";
  int figure_no = 0;
  for (const auto& block : doc.blocks) {
    if (auto* h = std::get_if<Heading>(&block)) {
      out += fmt::format("<h{0}>{1}</h{0}>\n", h->level, html_escape(h->text));
    } else if (auto* p = std::get_if<Paragraph>(&block)) {
      out += "<p>" + html_inline(p->spans) + "</p>\n";
    } else if (auto* t = std::get_if<Table>(&block)) {
      out += html_table(*t);
    } else if (auto* f = std::get_if<Figure>(&block)) {
      out += html_figure(*f, ++figure_no);
    } else if (auto* c = std::get_if<CodeBlock>(&block)) {
      out += "<pre><code>" + html_escape(c->text) + "</code></pre>\n";
    } else if (auto* l = std::get_if<List>(&block)) {
      out += "<ul class=\"meta\">\n";
      for (const auto& item : l->items) out += "<li>" + html_inline(item) + "</li>\n";
      out += "</ul>\n";
    }
  }
  out += "</main>\n<script>" + std::string(kScript) + "</script>\n</body>\n</html>\n";
  return out;
}

}  // namespace ftmamba::report
