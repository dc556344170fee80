// defines: Document, the content of a report independent of its output format: a title and a sequence of
// blocks (headings, paragraphs of styled text, tables with per-column alignment, figures, code blocks, lists).
#pragma once
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace ftmamba::report {

// A run of text in one style. A link's `text` is what shows and `href` where it points (a relative path or URL).
struct Span {
  enum Kind { kText, kCode, kBold, kLink } kind = kText;
  std::string text;
  std::string href;
};
using Inline = std::vector<Span>;
inline Span text(std::string s) { return {Span::kText, std::move(s), {}}; }
inline Span code(std::string s) { return {Span::kCode, std::move(s), {}}; }
inline Span bold(std::string s) { return {Span::kBold, std::move(s), {}}; }
inline Span link(std::string s, std::string href) { return {Span::kLink, std::move(s), std::move(href)}; }

// One table cell: a value, optionally with a secondary value ("± 0.0031": after the value in markdown, under it
// in HTML), bold, or a link.
struct Cell {
  std::string value;
  std::string extra;
  bool bold = false;
  std::string href;
};
inline Cell cell(std::string s) { return Cell{std::move(s), {}, false, {}}; }

// Left for labels and text; right for numbers, which HTML also sets in tabular figures without wrapping.
enum class Align { kLeft, kRight };
struct Column {
  std::string title;
  Align align = Align::kLeft;
};

struct Row {
  std::vector<Cell> cells;
  bool set_apart = false;  // a row of another kind than the ones above it (references, ratios): styled apart in HTML
};

struct Table {
  std::vector<Column> columns;
  std::vector<Row> rows;
};

struct Heading {
  int level;  // 2 for a section; the title is the only level 1
  std::string text;
};

struct Paragraph {
  Inline spans;
};

// figures/NAME.{png,svg} with the data and script that draw them (figures/NAME.{dat,gp}; see figure.h).
// Figures are numbered in document order.
struct Figure {
  std::string name;
  std::string alt;
  Inline caption;
};

struct CodeBlock {
  std::string text;
};

struct List {
  std::vector<Inline> items;
};

using Block = std::variant<Heading, Paragraph, Table, Figure, CodeBlock, List>;

struct Document {
  std::string title;
  std::vector<Block> blocks;
};

}  // namespace ftmamba::report
