// defines: the comparison and scaling reports of report.h. Each report is first built as a small document
// (headings, paragraphs, tables, figures), which is then written out as markdown and as HTML, so both always
// carry the same content; figures are gnuplot scripts plus data files, drawn to PNG and SVG.
#include "ftmamba/report/report.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>

#include "ftmamba/core/error.h"
#include "ftmamba/report/figure.h"
#include "ftmamba/report/gnuplot.h"
#include "ftmamba/report/loglog_fit.h"
#include "ftmamba/io/atomic_file.h"

namespace ftmamba::report {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// ==== the document model ==========================================================================================

struct Span {
  enum Kind { kText, kCode, kBold } kind = kText;
  std::string text;
};
using Inline = std::vector<Span>;
Span text(std::string s) { return {Span::kText, std::move(s)}; }
Span code(std::string s) { return {Span::kCode, std::move(s)}; }
Span bold(std::string s) { return {Span::kBold, std::move(s)}; }

struct Cell {
  std::string main;   // the value (or label)
  std::string extra;  // "± 0.0031": shown after the value in markdown, under it in HTML
  bool bold = false;
  std::string href;  // makes the cell a link
};
Cell cell(std::string s) { return Cell{std::move(s), {}, false, {}}; }

struct Row {
  std::vector<Cell> cells;
  bool reference = false;  // a seed-independent ranker, styled apart in HTML
};

struct Table {
  std::vector<std::string> header;
  std::vector<bool> numeric;  // per column: right-aligned
  std::vector<Row> rows;
};

struct Heading {
  int level;
  std::string text;
};
struct Paragraph {
  Inline spans;
};
struct Figure {
  std::string name;  // figures/NAME.{svg,png,dat,gp}
  std::string alt;
  Inline caption;
};
struct CodeBlock {
  std::string text;
};
struct ListBlock {
  std::vector<Inline> items;
};
using Block = std::variant<Heading, Paragraph, Table, Figure, CodeBlock, ListBlock>;

struct Document {
  std::string title;
  std::vector<Block> blocks;
  int figures = 0;
};

// ---- markdown ----

std::string md_escape(const std::string& s) {
  auto word = [&](size_t i) { return i < s.size() && std::isalnum(static_cast<unsigned char>(s[i])); };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    // An underscore inside a word (d_token) cannot start emphasis, so it stays readable unescaped.
    const bool inner_underscore = c == '_' && i > 0 && word(i - 1) && word(i + 1);
    if (!inner_underscore && std::string_view("\\`*_[]<>|").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

// A link target safe inside markdown's (...): spaces and parentheses percent-encoded.
std::string md_href(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == ' ')
      out += "%20";
    else if (c == '(')
      out += "%28";
    else if (c == ')')
      out += "%29";
    else
      out += c;
  }
  return out;
}

std::string md_code(const std::string& s) {
  // A code span is delimited by more backticks than any run inside it.
  size_t longest = 0, run = 0;
  for (char c : s) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  const std::string fence(longest + 1, '`');
  const bool pad = !s.empty() && (s.front() == '`' || s.back() == '`');
  return fence + (pad ? " " : "") + s + (pad ? " " : "") + fence;
}

std::string md_inline(const Inline& spans) {
  std::string out;
  for (const auto& s : spans) {
    switch (s.kind) {
      case Span::kText:
        out += md_escape(s.text);
        break;
      case Span::kCode:
        out += md_code(s.text);
        break;
      case Span::kBold:
        out += "**" + md_escape(s.text) + "**";
        break;
    }
  }
  return out;
}

std::string md_cell(const Cell& c) {
  std::string v = md_escape(c.main);
  if (!c.extra.empty()) v += " " + md_escape(c.extra);
  if (!c.href.empty()) v = "[" + v + "](" + md_href(c.href) + ")";
  if (c.bold) v = "**" + v + "**";
  return v;
}

std::string to_markdown(const Document& doc) {
  std::string out = "# " + md_escape(doc.title) + "\n";
  int figure_no = 0;
  for (const auto& block : doc.blocks) {
    out += "\n";
    if (auto* h = std::get_if<Heading>(&block)) {
      out += std::string(static_cast<size_t>(h->level), '#') + " " + md_escape(h->text) + "\n";
    } else if (auto* p = std::get_if<Paragraph>(&block)) {
      out += md_inline(p->spans) + "\n";
    } else if (auto* t = std::get_if<Table>(&block)) {
      out += "|";
      for (const auto& h : t->header) out += " " + md_escape(h) + " |";
      out += "\n|";
      for (size_t i = 0; i < t->header.size(); ++i) out += t->numeric[i] ? " ---: |" : " --- |";
      out += "\n";
      for (const auto& row : t->rows) {
        out += "|";
        for (const auto& c : row.cells) {  // appended piecewise: GCC 12 misreports `" " + s + " |"` at -O3
          out += ' ';
          out += md_cell(c);
          out += " |";
        }
        out += "\n";
      }
    } else if (auto* f = std::get_if<Figure>(&block)) {
      ++figure_no;
      out += "![" + md_escape(f->alt) + "](figures/" + f->name + ".png)\n\n";
      out += fmt::format("**Figure {}.** ", figure_no) + md_inline(f->caption) + " (" + "[SVG](figures/" + f->name +
             ".svg), data [" + f->name + ".dat](figures/" + f->name + ".dat), script [" + f->name + ".gp](figures/" +
             f->name + ".gp))\n";
    } else if (auto* c = std::get_if<CodeBlock>(&block)) {
      size_t longest = 0, run = 0;
      for (char ch : c->text) {
        run = ch == '`' ? run + 1 : 0;
        longest = std::max(longest, run);
      }
      const std::string fence(std::max<size_t>(3, longest + 1), '`');
      out += fence + "\n" + c->text + "\n" + fence + "\n";
    } else if (auto* l = std::get_if<ListBlock>(&block)) {
      for (const auto& item : l->items) out += "- " + md_inline(item) + "\n";
    }
  }
  return out;
}

// ---- HTML ----

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
    }
  }
  return out;
}

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
      out += "<div class=\"table-wrap\"><table>\n<thead><tr>";
      for (size_t i = 0; i < t->header.size(); ++i)
        out += std::string(t->numeric[i] ? "<th class=\"num\">" : "<th>") + html_escape(t->header[i]) + "</th>";
      out += "</tr></thead>\n<tbody>\n";
      for (const auto& row : t->rows) {
        out += row.reference ? "<tr class=\"ref\">" : "<tr>";
        for (size_t i = 0; i < row.cells.size(); ++i) {
          const Cell& c = row.cells[i];
          std::string v = html_escape(c.main);
          if (!c.href.empty()) v = "<a href=\"" + html_escape(c.href) + "\">" + v + "</a>";
          if (c.bold) v = "<strong>" + v + "</strong>";
          if (!c.extra.empty()) v += "<span class=\"sd\">" + html_escape(c.extra) + "</span>";
          out += std::string(i < t->numeric.size() && t->numeric[i] ? "<td class=\"num\">" : "<td>") + v + "</td>";
        }
        out += "</tr>\n";
      }
      out += "</tbody>\n</table></div>\n";
    } else if (auto* f = std::get_if<Figure>(&block)) {
      ++figure_no;
      const std::string base = "figures/" + f->name;
      out += "<figure>\n<img src=\"" + html_escape(base) + ".svg\" alt=\"" + html_escape(f->alt) + "\">\n";
      out += fmt::format("<figcaption><strong>Figure {}.</strong> ", figure_no) + html_inline(f->caption) +
             " (<a href=\"" + html_escape(base) + ".png\">PNG</a>, data <a href=\"" + html_escape(base) + ".dat\">" +
             html_escape(f->name) + ".dat</a>, script <a href=\"" + html_escape(base) + ".gp\">" +
             html_escape(f->name) + ".gp</a>)</figcaption>\n</figure>\n";
    } else if (auto* c = std::get_if<CodeBlock>(&block)) {
      out += "<pre><code>" + html_escape(c->text) + "</code></pre>\n";
    } else if (auto* l = std::get_if<ListBlock>(&block)) {
      out += "<ul class=\"meta\">\n";
      for (const auto& item : l->items) out += "<li>" + html_inline(item) + "</li>\n";
      out += "</ul>\n";
    }
  }
  out += "</main>\n<script>" + std::string(kScript) + "</script>\n</body>\n</html>\n";
  return out;
}

// ==== number formatting ===========================================================================================

const std::string kDash = "\u2014";  // a missing value

std::string group_thousands(double v) {
  const auto n = static_cast<long long>(std::llround(v));
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return (n < 0 ? "-" : "") + out;
}

std::string metric(double v) { return fmt::format("{:.4f}", v); }

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

// Sample standard deviation (n - 1); needs two or more values.
double std_of(const std::vector<double>& v) {
  const double m = mean_of(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

// ==== reading the JSON ============================================================================================

[[noreturn]] void bad(const std::string& where, const std::string& what) {
  throw Error("comparison.json: " + where + ": " + what);
}

const json& need(const json& j, const std::string& key, const std::string& where) {
  if (!j.is_object() || !j.contains(key)) bad(where, "missing '" + key + "'");
  return j.at(key);
}

std::optional<double> opt_number(const json& j, const std::string& key) {
  if (!j.is_object()) return std::nullopt;
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

std::string opt_string(const json& j, const std::string& key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::vector<double> number_array(const json& j, const std::string& key, const std::string& where) {
  const json& a = need(j, key, where);
  if (!a.is_array()) bad(where + "." + key, "not an array");
  std::vector<double> out;
  out.reserve(a.size());
  for (const auto& x : a) {
    if (!x.is_number()) bad(where + "." + key, "not a number: " + x.dump());
    out.push_back(x.get<double>());
  }
  return out;
}

struct Run {
  std::string model, seed, run_dir;
  int model_index = 0, seed_index = 0;  // colour, dash pattern
  const json* j = nullptr;
  std::string label() const { return model + " seed " + seed; }
};

struct Comparison {
  std::vector<std::string> models;
  std::vector<int64_t> ks;
  std::vector<Run> runs;
  std::vector<std::pair<std::string, const json*>> references;  // name, {"full":..,"sampled":..}
  size_t n_seeds = 0;
};

Comparison read_comparison(const json& j) {
  Comparison c;
  if (!j.is_object()) bad("top level", "not a JSON object");
  // Through a pointer: GCC 13's -Wdangling-reference mistakes a reference returned by need() for one into
  // its temporary string arguments.
  const json* runs_ptr = &need(j, "runs", "top level");
  const json& runs = *runs_ptr;
  if (!runs.is_array() || runs.empty()) bad("runs", "must be a non-empty array");
  if (j.contains("models") && j["models"].is_array())
    for (const auto& m : j["models"]) c.models.push_back(m.get<std::string>());
  std::set<std::string> seeds_seen;
  std::vector<std::string> seed_order;
  for (size_t i = 0; i < runs.size(); ++i) {
    const std::string where = fmt::format("runs[{}]", i);
    Run r;
    r.j = &runs[i];
    r.model = need(runs[i], "model", where).get<std::string>();
    r.seed = opt_string(runs[i], "seed");
    r.run_dir = opt_string(runs[i], "run_dir");
    if (!need(need(runs[i], "test", where), "full", where + ".test").is_object())
      bad(where + ".test.full", "not an object");
    if (std::find(c.models.begin(), c.models.end(), r.model) == c.models.end()) c.models.push_back(r.model);
    r.model_index = static_cast<int>(std::find(c.models.begin(), c.models.end(), r.model) - c.models.begin());
    if (seeds_seen.insert(r.seed).second) seed_order.push_back(r.seed);
    r.seed_index = static_cast<int>(std::find(seed_order.begin(), seed_order.end(), r.seed) - seed_order.begin());
    c.runs.push_back(r);
  }
  c.n_seeds = seed_order.size();
  if (j.contains("ks") && j["ks"].is_array() && !j["ks"].empty()) {
    for (const auto& k : j["ks"]) c.ks.push_back(k.get<int64_t>());
  } else {
    c.ks = {1, 5, 10};
  }
  if (j.contains("references") && j["references"].is_object()) {
    const json& refs = j["references"];
    // The usual rankers first, in ceiling-to-floor order; any other after them.
    for (const char* name : {"oracle", "true-utility", "popularity"})
      if (refs.contains(name) && refs[name].is_object()) c.references.emplace_back(name, &refs[name]);
    for (auto it = refs.begin(); it != refs.end(); ++it)
      if (it.value().is_object() && it.key() != "oracle" && it.key() != "true-utility" && it.key() != "popularity")
        c.references.emplace_back(it.key(), &it.value());
  }
  return c;
}

std::vector<const Run*> runs_of(const Comparison& c, const std::string& model) {
  std::vector<const Run*> out;
  for (const auto& r : c.runs)
    if (r.model == model) out.push_back(&r);
  return out;
}

// One protocol's test value of a run (or a reference), if present.
std::optional<double> test_value(const json& owner, const std::string& protocol, const std::string& key) {
  auto t = owner.find("test");
  const json& base = t != owner.end() ? *t : owner;  // references hold {"full":..} directly
  auto p = base.find(protocol);
  if (p == base.end()) return std::nullopt;
  return opt_number(*p, key);
}

// ==== tables ======================================================================================================

// Model rows (mean ± std over seeds, best mean in bold) and reference rows for the given protocol and metric keys.
Table quality_table(const Comparison& c, const std::string& protocol, const std::vector<std::string>& keys) {
  Table t;
  t.header.push_back("model");
  t.numeric.push_back(false);
  for (const auto& k : keys) {
    t.header.push_back(k);
    t.numeric.push_back(true);
  }
  std::vector<std::vector<std::optional<double>>> means(c.models.size());
  for (size_t m = 0; m < c.models.size(); ++m) {
    Row row;
    row.cells.push_back(cell(c.models[m]));
    for (const auto& key : keys) {
      std::vector<double> values;
      for (const Run* r : runs_of(c, c.models[m]))
        if (auto v = test_value(*r->j, protocol, key)) values.push_back(*v);
      if (values.empty()) {
        row.cells.push_back(cell(kDash));
        means[m].push_back(std::nullopt);
        continue;
      }
      Cell cl = cell(metric(mean_of(values)));
      if (values.size() > 1) cl.extra = "\u00b1 " + metric(std_of(values));
      row.cells.push_back(cl);
      means[m].push_back(mean_of(values));
    }
    t.rows.push_back(row);
  }
  // Bold the best model mean per column; equal as printed counts as a tie.
  for (size_t col = 0; col < keys.size(); ++col) {
    std::optional<double> best;
    for (const auto& m : means)
      if (m[col] && (!best || *m[col] > *best)) best = m[col];
    if (!best || c.models.size() < 2) continue;
    for (size_t m = 0; m < means.size(); ++m)
      if (means[m][col] && metric(*means[m][col]) == metric(*best)) t.rows[m].cells[col + 1].bold = true;
  }
  for (const auto& [name, ref] : c.references) {
    Row row;
    row.reference = true;
    row.cells.push_back(cell(name));
    for (const auto& key : keys) {
      auto v = test_value(*ref, protocol, key);
      row.cells.push_back(cell(v ? metric(*v) : kDash));
    }
    t.rows.push_back(row);
  }
  return t;
}

Table efficiency_table(const Comparison& c) {
  struct Col {
    const char* key;
    const char* title;
    std::string (*format)(double);
  };
  static const Col cols[] = {
      {"parameters", "parameters", [](double v) { return group_thousands(v); }},
      {"seconds_per_epoch", "seconds / epoch", [](double v) { return fmt::format("{:.2f}", v); }},
      {"train_samples_per_sec", "train samples / s", [](double v) { return group_thousands(v); }},
      {"encode_samples_per_sec", "encode samples / s", [](double v) { return group_thousands(v); }},
      {"peak_rss_mib", "peak RSS (MiB)", [](double v) { return fmt::format("{:.1f}", v); }},
  };
  Table t;
  t.header.push_back("model");
  t.numeric.push_back(false);
  for (const auto& col : cols) {
    t.header.push_back(col.title);
    t.numeric.push_back(true);
  }
  std::vector<std::vector<std::optional<double>>> means;
  for (const auto& model : c.models) {
    Row row;
    row.cells.push_back(cell(model));
    means.emplace_back();
    for (const auto& col : cols) {
      std::vector<double> values;
      for (const Run* r : runs_of(c, model)) {
        auto e = r->j->find("efficiency");
        if (e != r->j->end())
          if (auto v = opt_number(*e, col.key)) values.push_back(*v);
      }
      means.back().push_back(values.empty() ? std::nullopt : std::optional<double>(mean_of(values)));
      row.cells.push_back(cell(values.empty() ? kDash : col.format(mean_of(values))));
    }
    t.rows.push_back(row);
  }
  if (c.models.size() >= 2) {
    Row row;
    row.reference = true;
    row.cells.push_back(cell(c.models[0] + " / " + c.models[1]));
    bool any = false;
    for (size_t i = 0; i < std::size(cols); ++i) {
      const auto& a = means[0][i];
      const auto& b = means[1][i];
      const bool ok = a && b && *a > 0 && *b > 0;  // a ratio of missing or zero measurements says nothing
      any = any || ok;
      row.cells.push_back(cell(ok ? fmt::format("{:.2f}\u00d7", *a / *b) : kDash));
    }
    if (any) t.rows.push_back(row);
  }
  return t;
}

Table runs_table(const Comparison& c) {
  Table t;
  t.header = {"model", "seed", "epochs", "best epoch", "test HR@10", "run folder"};
  t.numeric = {false, true, true, true, true, false};
  for (const auto& model : c.models) {
    for (const Run* r : runs_of(c, model)) {
      Row row;
      row.cells.push_back(cell(r->model));
      row.cells.push_back(cell(r->seed.empty() ? kDash : r->seed));
      auto h = r->j->find("history");
      row.cells.push_back(cell(h != r->j->end() && h->is_array() ? std::to_string(h->size()) : kDash));
      auto best = opt_number(*r->j, "best_epoch");
      row.cells.push_back(cell(best ? fmt::format("{}", static_cast<long long>(*best)) : kDash));
      auto hr = test_value(*r->j, "full", "HR@10");
      row.cells.push_back(cell(hr ? metric(*hr) : kDash));
      Cell dir = cell(r->run_dir.empty() ? kDash : r->run_dir);
      if (!r->run_dir.empty()) dir.href = r->run_dir + "/";
      row.cells.push_back(dir);
      t.rows.push_back(row);
    }
  }
  return t;
}

// ==== figures =====================================================================================================

// Colour-blind-safe (Okabe–Ito) colours per model, and dash patterns / point types per seed.
const char* const kModelColours[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"};
const char* model_colour(int i) { return kModelColours[static_cast<size_t>(i) % std::size(kModelColours)]; }
int seed_dash(int i) { return 1 + i % 5; }
int seed_point(int i) {
  static const int pts[] = {7, 5, 9, 11, 13};
  return pts[static_cast<size_t>(i) % std::size(pts)];
}

std::string dat_label(const Run& r) { return r.model + "/seed" + r.seed; }

// Figure 4: validation HR@k against epoch, one panel per k, one line per run.
std::optional<FigureJob> hr_figure(const Comparison& c) {
  std::string dat =
      "# validation HR@k per epoch; one block per run (gnuplot 'index' N), blocks split by two blank lines\n";
  dat += "# columns: epoch";
  for (int64_t k : c.ks) dat += fmt::format(" HR@{}", k);
  dat += "\n";
  std::vector<const Run*> drawn;
  std::vector<bool> has_k(c.ks.size(), false);  // a panel only for a k some run reports: gnuplot fails on no data
  int64_t max_epoch = 0;
  for (const auto& model : c.models) {
    for (const Run* r : runs_of(c, model)) {
      auto h = r->j->find("history");
      if (h == r->j->end() || !h->is_array() || h->empty()) continue;
      if (!drawn.empty()) dat += "\n\n";
      dat += fmt::format("# index {}: {}\n", drawn.size(), dat_label(*r));
      int64_t n = 0;
      for (const auto& e : *h) {
        ++n;
        const int64_t epoch = opt_number(e, "epoch") ? static_cast<int64_t>(*opt_number(e, "epoch")) : n;
        max_epoch = std::max(max_epoch, epoch);
        dat += std::to_string(epoch);
        auto valid = e.find("valid");
        for (size_t ki = 0; ki < c.ks.size(); ++ki) {
          auto v = valid != e.end() ? opt_number(*valid, fmt::format("HR@{}", c.ks[ki])) : std::nullopt;
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
  for (const Run* r : drawn) {
    if (std::find(drawn_models.begin(), drawn_models.end(), r->model_index) == drawn_models.end())
      drawn_models.push_back(r->model_index);
    if (std::find(drawn_seeds.begin(), drawn_seeds.end(), r->seed_index) == drawn_seeds.end())
      drawn_seeds.push_back(r->seed_index);
  }
  std::sort(drawn_seeds.begin(), drawn_seeds.end());
  std::vector<const Run*> key_order;  // nullptr: a blank slot
  int key_rows;
  if (drawn_seeds.size() <= 4) {
    key_rows = static_cast<int>(drawn_models.size());
    for (int seed : drawn_seeds)
      for (int model : drawn_models) {
        const Run* found = nullptr;
        for (const Run* r : drawn)
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
  auto run_style = [&](const Run& r) {
    return fmt::format("lc rgb \"{}\" dt {} pt {} ps 0.8 lw 1.5", model_colour(r.model_index), seed_dash(r.seed_index),
                       seed_point(r.seed_index));
  };
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
  return FigureJob{"hr_per_epoch", dat,
                   figure_script("hr_per_epoch", "Validation HR@k per epoch, one panel per k, one line per run", width,
                                 height, body)};
}

// Figure 5: per popularity bin, the sum over its items of predicted - actual, one line per run.
std::optional<FigureJob> popularity_figure(const Comparison& c, int64_t* k_out, int64_t* n_items_out,
                                           size_t* n_bins_out) {
  std::vector<const Run*> drawn;
  std::vector<std::vector<double>> diffs;
  int64_t n_items = -1, k = 0;
  for (const auto& model : c.models) {
    for (const Run* r : runs_of(c, model)) {
      auto pb = r->j->find("popularity_bias");
      if (pb == r->j->end() || !pb->is_object()) continue;
      const std::string where = "runs[" + r->label() + "].popularity_bias";
      auto pred = number_array(*pb, "predicted", where), act = number_array(*pb, "actual", where);
      if (pred.size() != act.size()) bad(where, "'predicted' and 'actual' differ in length");
      if (n_items >= 0 && static_cast<int64_t>(pred.size()) != n_items)
        bad(where, "runs disagree on the number of items");
      n_items = static_cast<int64_t>(pred.size());
      if (auto kk = opt_number(*pb, "k")) k = static_cast<int64_t>(*kk);
      std::vector<double> d(pred.size());
      for (size_t i = 0; i < pred.size(); ++i) d[i] = pred[i] - act[i];
      diffs.push_back(std::move(d));
      drawn.push_back(r);
    }
  }
  if (drawn.empty() || n_items <= 0) return std::nullopt;
  const auto bins = popularity_bins(n_items);
  *k_out = k;
  *n_items_out = n_items;
  *n_bins_out = bins.size();

  std::string dat = "# sum over each popularity bin of (predicted - actual); rank 1 = most popular item in training\n";
  dat += fmt::format("# {} items in {} bins with log-spaced rank edges floor(n^(b/{})); top-k = {}\n", n_items,
                     bins.size(), kPopularityBins, k);
  dat += "# columns: first_rank last_rank mid_rank(geometric)";
  for (const Run* r : drawn) dat += " " + dat_label(*r);
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
    const Run& r = *drawn[i];
    body += fmt::format(
        "    \"popularity_bias.dat\" using 3:{} with linespoints lc rgb \"{}\" dt {} pt {} ps 0.7 lw 1.5 title {}{}\n",
        i + 4, model_colour(r.model_index), seed_dash(r.seed_index), seed_point(r.seed_index), gp_quote(r.label()),
        i + 1 < drawn.size() ? ", \\" : "");
  }
  return FigureJob{"popularity_bias", dat,
                   figure_script("popularity_bias",
                                 "Over/under-recommendation by item popularity: per-bin sum of predicted - actual",
                                 1100, 560, body)};
}

void write_report_files(const fs::path& dir, const std::string& stem, const Document& doc,
                        const std::vector<FigureJob>& figures) {
  const fs::path fig_dir = dir / "figures";
  fs::create_directories(fig_dir);
  // Markdown first: whatever fails later, the numbers are on disk.
  io::write_file_atomic(dir / (stem + ".md"), to_markdown(doc));
  io::write_file_atomic(dir / (stem + ".html"), to_html(doc));
  for (const auto& f : figures) write_figure_sources(fig_dir, f);
  draw_figures(fig_dir, figures);
}

std::string join_numbers(const json& a) {
  std::string out;
  if (!a.is_array()) return out;
  for (const auto& x : a) out += (out.empty() ? "" : ", ") + (x.is_string() ? x.get<std::string>() : x.dump());
  return out;
}

}  // namespace

std::vector<RankBin> popularity_bins(int64_t n_items, int64_t target_bins) {
  if (n_items <= 0 || target_bins <= 0) return {};
  std::vector<int64_t> edges;
  for (int64_t b = 0; b < target_bins; ++b) {
    // The small epsilon keeps exact powers (n^(1/2) for n = 100) from flooring one below.
    edges.push_back(static_cast<int64_t>(std::floor(
        std::pow(static_cast<double>(n_items), static_cast<double>(b) / static_cast<double>(target_bins)) + 1e-9)));
  }
  edges.push_back(n_items + 1);
  std::vector<RankBin> bins;
  for (size_t b = 0; b + 1 < edges.size(); ++b)
    if (edges[b + 1] > edges[b]) bins.push_back({edges[b], edges[b + 1] - 1});
  return bins;
}

namespace {

void render_comparison(const json& j, const fs::path& report_dir) {
  const Comparison c = read_comparison(j);
  Document doc;
  doc.title = j.value("title", std::string("Model comparison"));

  // 1. What was compared, and how.
  {
    ListBlock meta;
    if (j.contains("dataset") && j["dataset"].is_object()) {
      const json& d = j["dataset"];
      Inline item{bold("Dataset:"), text(" ")};
      if (!opt_string(d, "dir").empty()) item.push_back(code(opt_string(d, "dir")));
      const std::string preset = opt_string(d, "preset");
      item.push_back(text(preset.empty() ? " (real data)" : " (synthetic preset "));
      if (!preset.empty()) {
        item.push_back(code(preset));
        item.push_back(text(")"));
      }
      std::vector<std::string> sizes;
      for (const char* key : {"users", "items", "interactions"})
        if (auto v = opt_number(d, key)) sizes.push_back(group_thousands(*v) + " " + key);
      if (!sizes.empty()) {
        std::string s;
        for (const auto& x : sizes) s += (s.empty() ? "" : ", ") + x;
        item.push_back(text(": " + s));
      }
      meta.items.push_back(item);
    }
    {
      std::string models;
      for (const auto& m : c.models) models += (models.empty() ? "" : ", ") + m;
      const std::string seeds = join_numbers(j.value("seeds", json::array()));
      meta.items.push_back({bold("Models:"), text(" "),
                            text(models + (seeds.empty() ? "" : "; seeds " + seeds) +
                                 fmt::format(" ({} run{})", c.runs.size(), c.runs.size() == 1 ? "" : "s"))});
    }
    if (!opt_string(j, "created").empty())
      meta.items.push_back({bold("Created:"), text(" "), text(opt_string(j, "created"))});
    if (!opt_string(j, "machine").empty())
      meta.items.push_back({bold("Machine:"), text(" "), text(opt_string(j, "machine"))});
    doc.blocks.push_back(meta);
    if (!opt_string(j, "command").empty()) {
      doc.blocks.push_back(Paragraph{{bold("Command:")}});
      doc.blocks.push_back(CodeBlock{opt_string(j, "command")});
    }
  }

  const std::string spread =
      c.n_seeds > 1 ? fmt::format("mean \u00b1 sample standard deviation (n \u2212 1) over {} seeds", c.n_seeds)
                    : "a single seed";
  // 2. Quality.
  {
    std::vector<std::string> keys;
    for (int64_t k : c.ks)
      for (const char* m : {"P", "R", "MRR", "HR"}) keys.push_back(fmt::format("{}@{}", m, k));
    doc.blocks.push_back(Heading{2, "Quality: full-catalog ranking"});
    doc.blocks.push_back(Paragraph{
        {text("Test metrics, each held-out item ranked against the whole catalog with the user's training items "
              "masked. Model rows: " +
              spread + ", 4 decimals; the best model value per column is bold. " +
              (c.references.empty() ? std::string()
                                    : "The rows below the models are seed-independent reference rankers."))}});
    doc.blocks.push_back(quality_table(c, "full", keys));
    doc.blocks.push_back(Heading{2, "Quality: sampled protocol"});
    doc.blocks.push_back(
        Paragraph{{text("The held-out item ranked against the run's stored sampled negatives (drawn once, so runs "
                        "compare on the same candidates). Same conventions as above.")}});
    doc.blocks.push_back(quality_table(c, "sampled", {"HR@10", "NDCG@10", "MRR@10"}));
  }

  std::vector<FigureJob> figures;
  // 3. HR@k per epoch.
  if (auto f = hr_figure(c)) {
    doc.blocks.push_back(Heading{2, "HR@k per epoch"});
    std::string ks;
    for (int64_t k : c.ks) ks += (ks.empty() ? "" : ", ") + std::to_string(k);
    doc.blocks.push_back(
        Figure{"hr_per_epoch",
               "Validation HR@k per epoch",
               {text("Validation hit ratio at k = " + ks +
                     " after each epoch, one panel per k. One line per run: colour = model, dash pattern and marker = "
                     "seed.")}});
    figures.push_back(*f);
  }
  // 4. Popularity bias.
  int64_t pb_k = 0, pb_items = 0;
  size_t pb_bins = 0;
  if (auto f = popularity_figure(c, &pb_k, &pb_items, &pb_bins)) {
    doc.blocks.push_back(Heading{2, "Over/under-recommendation by item popularity"});
    doc.blocks.push_back(Figure{
        "popularity_bias",
        "Predicted minus actual test interactions by item popularity",
        {text(fmt::format(
            "Items are ranked by training popularity (rank 1 = most popular; log axis) and grouped into {} bins with "
            "log-spaced rank edges floor(n^(b/{})), b = 0, 1, \u2026, for n = {} items (empty bins merged away, so "
            "the most popular items get a bin each). Each point is the sum over a bin's items of predicted \u2212 "
            "actual, where predicted = (test users with the item in their top-{}) / {} and actual = test users whose "
            "held-out item it is; above zero the model over-recommends the bin, below zero it under-recommends it. "
            "Plotted at the bin's geometric mid rank; one line per run, colour = model, dash pattern = seed.",
            pb_bins, kPopularityBins, group_thousands(static_cast<double>(pb_items)), pb_k, pb_k))}});
    figures.push_back(*f);
  }
  // 5. Efficiency.
  doc.blocks.push_back(Heading{2, "Efficiency"});
  doc.blocks.push_back(Paragraph{{text(
      "Mean over each model's seeds. Samples/s count training (user, item) pairs and encoded rows; peak RSS is "
      "the process's resident memory high-water mark." +
      std::string(c.models.size() >= 2 ? " The last row divides the first model's value by the second's." : ""))}});
  doc.blocks.push_back(efficiency_table(c));
  // 6. Runs.
  doc.blocks.push_back(Heading{2, "Runs"});
  doc.blocks.push_back(Paragraph{{text("Each run's folder holds its config, weights, history and metrics.")}});
  doc.blocks.push_back(runs_table(c));

  write_report_files(report_dir, "report", doc, figures);
}

}  // namespace

void render_comparison_report(const json& comparison, const fs::path& report_dir) {
  try {
    render_comparison(comparison, report_dir);
  } catch (const json::exception& e) {  // a value of the wrong type
    throw Error(std::string("comparison.json: ") + e.what());
  }
}

namespace {

void render_scaling(const json& j, const fs::path& dir) {
  auto fail = [](const std::string& what) { throw Error("scaling.json: " + what); };
  if (!j.is_object() || !j.contains("points") || !j["points"].is_array() || j["points"].empty())
    fail("missing a non-empty 'points' array");
  struct Point {
    double L, fwd, bwd, total;
  };
  std::vector<std::string> models;
  std::map<std::string, std::vector<Point>> points;
  for (size_t i = 0; i < j["points"].size(); ++i) {
    const json& p = j["points"][i];
    const std::string where = fmt::format("points[{}]", i);
    if (!p.is_object() || !p.contains("model") || !p["model"].is_string()) fail(where + ": missing 'model'");
    auto L = opt_number(p, "L"), total = opt_number(p, "total_ms");
    if (!L || !total || *L <= 0 || *total <= 0) fail(where + ": needs positive 'L' and 'total_ms'");
    const std::string model = p["model"].get<std::string>();
    if (!points.count(model)) models.push_back(model);
    points[model].push_back({*L, opt_number(p, "forward_ms").value_or(std::nan("")),
                             opt_number(p, "backward_ms").value_or(std::nan("")), *total});
  }
  for (auto& [m, pts] : points)
    std::sort(pts.begin(), pts.end(), [](const Point& a, const Point& b) { return a.L < b.L; });

  // Per model: the slope (given, or fitted here), the L it holds from, and the level that fits best for it.
  struct Fit {
    double slope, from, log_coef;
    size_t n;
  };
  std::map<std::string, std::optional<Fit>> fits;
  for (const auto& m : models) {
    const auto& pts = points[m];
    const json* given = nullptr;
    if (j.contains("fits") && j["fits"].is_object() && j["fits"].contains(m) && j["fits"][m].is_object())
      given = &j["fits"][m];
    const double slope = given ? opt_number(*given, "slope").value_or(std::nan("")) : std::nan("");  // NaN: fit here
    const double from = given ? opt_number(*given, "slope_from_L").value_or(pts.front().L) : pts.front().L;
    std::vector<double> xs, ys;
    for (const auto& p : pts)
      if (p.L >= from) {
        xs.push_back(p.L);
        ys.push_back(p.total);
      }
    if (xs.empty()) continue;
    if (!std::isnan(slope)) {
      double s = 0;
      for (size_t i = 0; i < xs.size(); ++i) s += std::log(ys[i]) - slope * std::log(xs[i]);
      fits[m] = Fit{slope, from, s / static_cast<double>(xs.size()), xs.size()};
    } else if (xs.size() >= 2 && xs.front() != xs.back()) {
      const PowerLawFit f = fit_loglog(xs, ys);
      fits[m] = Fit{f.slope, from, f.log_coef, xs.size()};
    }
  }

  Document doc;
  doc.title = j.value("title", std::string("Time against sequence length"));
  ListBlock meta;
  std::vector<std::string> shape;
  for (const char* key : {"batch", "d_token", "n_layers"})
    if (auto v = opt_number(j, key)) shape.push_back(fmt::format("{} {}", key, static_cast<long long>(*v)));
  if (!shape.empty()) {
    std::string s;
    for (const auto& x : shape) s += (s.empty() ? "" : ", ") + x;
    meta.items.push_back({bold("Shape:"), text(" "), text(s)});
  }
  if (!opt_string(j, "machine").empty())
    meta.items.push_back({bold("Machine:"), text(" "), text(opt_string(j, "machine"))});
  if (!meta.items.empty()) doc.blocks.push_back(meta);
  if (!opt_string(j, "command").empty()) {
    doc.blocks.push_back(Paragraph{{bold("Command:")}});
    doc.blocks.push_back(CodeBlock{opt_string(j, "command")});
  }

  doc.blocks.push_back(Heading{2, "Scaling exponents"});
  doc.blocks.push_back(
      Paragraph{{text("Slope of log(total time) against log(L), least squares over the points with L at or above the "
                      "threshold: 1 is linear in the sequence length, 2 quadratic.")}});
  Table slopes;
  slopes.header = {"model", "slope", "fitted over L \u2265", "points fitted"};
  slopes.numeric = {false, true, true, true};
  for (const auto& m : models) {
    const auto& f = fits[m];
    slopes.rows.push_back({{cell(m), cell(f ? fmt::format("{:.2f}", f->slope) : kDash),
                            cell(f ? fmt::format("{:g}", f->from) : kDash), cell(f ? std::to_string(f->n) : kDash)},
                           false});
  }
  doc.blocks.push_back(slopes);

  std::string dat = "# time per training step (ms) against sequence length L; one block per model (gnuplot 'index')\n";
  dat += "# then one block per fitted model with two points on the power-law line\n";
  std::string plot;
  int block = 0;
  for (size_t i = 0; i < models.size(); ++i) {
    if (block) dat += "\n\n";
    dat += fmt::format("# index {}: {} measured\n# L forward_ms backward_ms total_ms\n", block, models[i]);
    for (const auto& p : points[models[i]]) {
      auto num = [](double v) { return std::isnan(v) ? std::string("?") : fmt::format("{:.6g}", v); };
      dat += fmt::format("{:g} {} {} {:.6g}\n", p.L, num(p.fwd), num(p.bwd), p.total);
    }
    plot += fmt::format("    \"scaling.dat\" index {} using 1:4 with points lc rgb \"{}\" pt 7 ps 1.1 title {}, \\\n",
                        block, model_colour(static_cast<int>(i)), gp_quote(models[i] + " measured"));
    ++block;
  }
  for (size_t i = 0; i < models.size(); ++i) {
    const auto& f = fits[models[i]];
    if (!f) continue;
    const double hi = points[models[i]].back().L;
    const PowerLawFit line{f->slope, f->log_coef};
    dat += fmt::format("\n\n# index {}: {} fit, slope {:.4f} over L >= {:g}\n# L total_ms\n{:g} {:.6g}\n{:g} {:.6g}\n",
                       block, models[i], f->slope, f->from, f->from, line.at(f->from), hi, line.at(hi));
    plot += fmt::format("    \"scaling.dat\" index {} using 1:2 with lines lc rgb \"{}\" dt 2 lw 2 title {}, \\\n",
                        block, model_colour(static_cast<int>(i)),
                        gp_quote(fmt::format("{} fit: slope {:.2f} (L \u2265 {:g})", models[i], f->slope, f->from)));
    ++block;
  }
  plot.resize(plot.size() - 4);  // drop the last ", \"
  plot += "\n";
  std::string body;
  body += "  set title \"Training step time against sequence length\" font \",14\"\n";
  body += "  set grid lc rgb \"#dddddd\"\n  set border lc rgb \"#444444\"\n";
  double lo = std::numeric_limits<double>::infinity(), hi = 0;
  for (const auto& m : models) {
    lo = std::min(lo, points[m].front().L);
    hi = std::max(hi, points[m].back().L);
  }
  body += "  set logscale xy\n  set format x \"%g\"\n  set format y \"%g\"\n";
  body += fmt::format("  set xrange [{:g}:{:g}]\n", lo / 1.4, hi * 1.4);
  body += "  set xlabel \"sequence length L (tokens)\"\n  set ylabel \"forward + backward time (ms)\"\n";
  body += "  set key top left opaque box lc rgb \"#cccccc\" samplen 3 spacing 1.1\n";
  body += "  plot \\\n" + plot;
  FigureJob fig{
      "scaling", dat,
      figure_script("scaling", "Step time against sequence length, log-log, with fitted power laws", 1000, 600, body)};
  doc.blocks.push_back(Heading{2, "Time against sequence length"});
  doc.blocks.push_back(Figure{
      "scaling",
      "Step time against sequence length",
      {text("Forward + backward time per step against L on log-log axes: measured points and the fitted power law "
            "(dashed) over the fitted range.")}});

  doc.blocks.push_back(Heading{2, "Measurements"});
  Table pts;
  pts.header = {"model", "L", "forward (ms)", "backward (ms)", "total (ms)"};
  pts.numeric = {false, true, true, true, true};
  auto ms = [](double v) {
    if (std::isnan(v)) return kDash;
    return fmt::format(fmt::runtime(v < 10 ? "{:.3f}" : v < 100 ? "{:.2f}" : "{:.1f}"), v);
  };
  for (const auto& m : models)
    for (const auto& p : points[m])
      pts.rows.push_back(
          {{cell(m), cell(fmt::format("{:g}", p.L)), cell(ms(p.fwd)), cell(ms(p.bwd)), cell(ms(p.total))}, false});
  doc.blocks.push_back(pts);

  write_report_files(dir, "scaling", doc, {fig});
}

}  // namespace

void render_scaling_report(const json& scaling, const fs::path& dir) {
  try {
    render_scaling(scaling, dir);
  } catch (const json::exception& e) {
    throw Error(std::string("scaling.json: ") + e.what());
  }
}

}  // namespace ftmamba::report
