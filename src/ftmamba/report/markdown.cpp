// defines: the markdown renderer of a Document (see markdown.h).
#include "ftmamba/report/markdown.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <string_view>

namespace ftmamba::report {

namespace {

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

// Whether s[i] = '&' begins what markdown reads as a character reference (&amp; &#39;), which would show as
// the character it names; a lone & shows as itself and stays unescaped.
bool starts_entity(const std::string& s, size_t i) {
  size_t j = i + 1;
  while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '#')) ++j;
  return j > i + 1 && j < s.size() && s[j] == ';';
}

size_t longest_backtick_run(const std::string& s) {
  size_t longest = 0, run = 0;
  for (char c : s) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return longest;
}

// The strings below are built by appending: GCC 12 misreports chains of `+` on strings as overflows at -O3.

// **s**
std::string md_bold(const std::string& s) {
  std::string out = "**";
  out += s;
  out += "**";
  return out;
}

// [shown](href)
std::string md_link(const std::string& shown, const std::string& href) {
  std::string out = "[";
  out += shown;
  out += "](";
  out += md_href(href);
  out += ')';
  return out;
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
        out += md_bold(md_escape(s.text));
        break;
      case Span::kLink:
        out += md_link(md_escape(s.text), s.href);
        break;
    }
  }
  return out;
}

std::string md_cell(const Cell& c) {
  std::string v = md_escape(c.value);
  if (!c.extra.empty()) {
    v += ' ';
    v += md_escape(c.extra);
  }
  if (!c.href.empty()) v = md_link(v, c.href);
  return c.bold ? md_bold(v) : v;
}

std::string md_table(const Table& t) {
  std::string out = "|";
  for (const auto& col : t.columns) {
    out += ' ';
    out += md_escape(col.title);
    out += " |";
  }
  out += "\n|";
  for (const auto& col : t.columns) out += col.align == Align::kRight ? " ---: |" : " --- |";
  out += "\n";
  for (const auto& row : t.rows) {
    out += "|";
    for (const auto& c : row.cells) {
      out += ' ';
      out += md_cell(c);
      out += " |";
    }
    out += "\n";
  }
  return out;
}

std::string md_figure(const Figure& f, int number) {
  return fmt::format(
      "![{0}](figures/{1}.png)\n\n**Figure {2}.** {3} ([SVG](figures/{1}.svg), data [{1}.dat](figures/{1}.dat), "
      "script [{1}.gp](figures/{1}.gp))\n",
      md_escape(f.alt), f.name, number, md_inline(f.caption));
}

}  // namespace

std::string md_escape(const std::string& s) {
  // Bytes of multi-byte UTF-8 characters count as word characters: they are mostly letters (the λ of λ_max).
  auto word = [&](size_t i) {
    if (i >= s.size()) return false;
    const auto c = static_cast<unsigned char>(s[i]);
    return c >= 0x80 || std::isalnum(c);
  };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    // An underscore inside a word (d_token) cannot start emphasis, so it stays readable unescaped.
    const bool inner_underscore = c == '_' && i > 0 && word(i - 1) && word(i + 1);
    if ((!inner_underscore && std::string_view("\\`*_[]<>|").find(c) != std::string_view::npos) ||
        (c == '&' && starts_entity(s, i)))
      out += '\\';
    out += c;
  }
  return out;
}

std::string md_code(const std::string& s) {
  const std::string fence(longest_backtick_run(s) + 1, '`');
  const bool pad = !s.empty() && (s.front() == '`' || s.back() == '`');
  return fence + (pad ? " " : "") + s + (pad ? " " : "") + fence;
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
      out += md_table(*t);
    } else if (auto* f = std::get_if<Figure>(&block)) {
      out += md_figure(*f, ++figure_no);
    } else if (auto* c = std::get_if<CodeBlock>(&block)) {
      const std::string fence(std::max<size_t>(3, longest_backtick_run(c->text) + 1), '`');
      out += fence + "\n" + c->text + "\n" + fence + "\n";
    } else if (auto* l = std::get_if<List>(&block)) {
      for (const auto& item : l->items) out += "- " + md_inline(item) + "\n";
    }
  }
  return out;
}

}  // namespace ftmamba::report
