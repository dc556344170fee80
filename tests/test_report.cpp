// defines: tests of the report library: the document model rendered as markdown and as HTML (table alignment,
// escaping, figure markup, links, code), number formatting, write_report, fit_loglog, and gnuplot's errors.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "ftmamba/core/error.h"
#include "ftmamba/report/document.h"
#include "ftmamba/report/format.h"
#include "ftmamba/report/gnuplot.h"
#include "ftmamba/report/html.h"
#include "ftmamba/report/loglog_fit.h"
#include "ftmamba/report/markdown.h"
#include "ftmamba/report/write.h"
#include "report_test_util.h"

namespace fs = std::filesystem;
using ftmamba_test::slurp;
using ftmamba_test::TempDir;

namespace rp = ftmamba::report;

namespace {

// A left-aligned label column and a right-aligned number column; cells with markdown and HTML specials, a mean
// with its spread in bold, and a set-apart reference row.
rp::Document table_document() {
  rp::Document doc;
  doc.title = "Tables";
  rp::Table t;
  t.columns = {{"model", rp::Align::kLeft}, {"HR@10", rp::Align::kRight}};
  t.rows.push_back({{rp::cell("a<b> & c|d"), rp::cell("0.1234")}, false});
  rp::Cell mean = rp::cell("0.5000");
  mean.extra = "\u00b1 0.0100";
  mean.bold = true;
  t.rows.push_back({{rp::cell("mamba"), mean}, false});
  t.rows.push_back({{rp::cell("oracle"), rp::cell("0.9000")}, true});
  doc.blocks.push_back(t);
  return doc;
}

rp::Document figure_document() {
  rp::Document doc;
  doc.title = "Figures";
  doc.blocks.push_back(rp::Figure{"hr", "HR per epoch", {rp::text("One panel per "), rp::code("k"), rp::text(".")}});
  doc.blocks.push_back(rp::Paragraph{{rp::text("Between.")}});
  doc.blocks.push_back(rp::Figure{"bias", "say \"bias\"", {rp::text("Second <one>.")}});
  return doc;
}

}  // namespace

// ---- the document model -------------------------------------------------------------------------------------------

TEST(DocumentMarkdown, TableWithAlignmentAndEscaping) {
  EXPECT_EQ(rp::to_markdown(table_document()),
            "# Tables\n"
            "\n"
            "| model | HR@10 |\n"
            "| --- | ---: |\n"
            "| a\\<b\\> & c\\|d | 0.1234 |\n"
            "| mamba | **0.5000 \u00b1 0.0100** |\n"
            "| oracle | 0.9000 |\n");
}

TEST(DocumentHtml, TableWithAlignmentAndEscaping) {
  const std::string html = rp::to_html(table_document());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>\n", 0), 0u);
  EXPECT_NE(html.find("<title>Tables</title>"), std::string::npos);
  EXPECT_NE(html.find("<h1>Tables</h1>"), std::string::npos);
  EXPECT_NE(html.find("<thead><tr><th>model</th><th class=\"num\">HR@10</th></tr></thead>"), std::string::npos) << html;
  EXPECT_NE(html.find("<tr><td>a&lt;b&gt; &amp; c|d</td><td class=\"num\">0.1234</td></tr>"), std::string::npos);
  EXPECT_NE(html.find("<tr><td>mamba</td><td class=\"num\"><strong>0.5000</strong><span class=\"sd\">\u00b1 "
                      "0.0100</span></td></tr>"),
            std::string::npos);
  EXPECT_NE(html.find("<tr class=\"ref\"><td>oracle</td><td class=\"num\">0.9000</td></tr>"), std::string::npos);
  EXPECT_EQ(html.find("a<b>"), std::string::npos);
  // Self-contained: the style sheet inline, nothing fetched from elsewhere.
  EXPECT_NE(html.find("<style>"), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.substr(html.size() - 8), "</html>\n");
}

TEST(DocumentMarkdown, FiguresAreNumberedWithTheirSources) {
  EXPECT_EQ(rp::to_markdown(figure_document()),
            "# Figures\n"
            "\n"
            "![HR per epoch](figures/hr.png)\n"
            "\n"
            "**Figure 1.** One panel per `k`. ([SVG](figures/hr.svg), data [hr.dat](figures/hr.dat), script "
            "[hr.gp](figures/hr.gp))\n"
            "\n"
            "Between.\n"
            "\n"
            "![say \"bias\"](figures/bias.png)\n"
            "\n"
            "**Figure 2.** Second \\<one\\>. ([SVG](figures/bias.svg), data [bias.dat](figures/bias.dat), script "
            "[bias.gp](figures/bias.gp))\n");
}

TEST(DocumentHtml, FiguresAreNumberedWithTheirSources) {
  const std::string html = rp::to_html(figure_document());
  EXPECT_NE(html.find("<figure>\n<img src=\"figures/hr.svg\" alt=\"HR per epoch\">\n<figcaption><strong>Figure "
                      "1.</strong> One panel per <code>k</code>. (<a href=\"figures/hr.png\">PNG</a>, data <a "
                      "href=\"figures/hr.dat\">hr.dat</a>, script <a href=\"figures/hr.gp\">hr.gp</a>)</figcaption>\n"
                      "</figure>\n"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("<img src=\"figures/bias.svg\" alt=\"say &quot;bias&quot;\">"), std::string::npos);
  EXPECT_NE(html.find("<strong>Figure 2.</strong> Second &lt;one&gt;."), std::string::npos);
  EXPECT_NE(html.find("figuresLoaded"), std::string::npos);  // the load check a headless browser reads
}

TEST(DocumentMarkdown, HeadingsTextListsAndCode) {
  rp::Document doc;
  doc.title = "T";
  doc.blocks.push_back(rp::Heading{2, "Section *one*"});
  doc.blocks.push_back(rp::Paragraph{{rp::bold("Bold:"), rp::text(" d_token "), rp::code("a`b"), rp::text(" "),
                                      rp::link("the run", "runs/my run(2)/")}});
  doc.blocks.push_back(rp::List{{{rp::text("one")}, {rp::text("two")}}});
  doc.blocks.push_back(rp::CodeBlock{"x\n```\ny"});
  EXPECT_EQ(rp::to_markdown(doc),
            "# T\n"
            "\n"
            "## Section \\*one\\*\n"
            "\n"
            "**Bold:** d_token ``a`b`` [the run](runs/my%20run%282%29/)\n"
            "\n"
            "- one\n"
            "- two\n"
            "\n"
            "````\nx\n```\ny\n````\n");
  const std::string html = rp::to_html(doc);
  EXPECT_NE(html.find("<h2>Section *one*</h2>"), std::string::npos);
  EXPECT_NE(html.find("<p><strong>Bold:</strong> d_token <code>a`b</code> <a href=\"runs/my run(2)/\">the run</a></p>"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("<ul class=\"meta\">\n<li>one</li>\n<li>two</li>\n</ul>"), std::string::npos);
  EXPECT_NE(html.find("<pre><code>x\n```\ny</code></pre>"), std::string::npos);
}

TEST(DocumentMarkdown, Escaping) {
  EXPECT_EQ(rp::md_escape("d_token and \u03bb_max"), "d_token and \u03bb_max");  // inside a word: no emphasis
  EXPECT_EQ(rp::md_escape("_x_ *y* [z] <b> a|b c\\d `e`"), "\\_x\\_ \\*y\\* \\[z\\] \\<b\\> a\\|b c\\\\d \\`e\\`");
  EXPECT_EQ(rp::md_escape("R&D & more"), "R&D & more");
  EXPECT_EQ(rp::md_escape("&amp; &#39;"), "\\&amp; \\&#39;");  // would show as & and '
  EXPECT_EQ(rp::md_code("plain"), "`plain`");
  EXPECT_EQ(rp::md_code("a``b"), "```a``b```");
  EXPECT_EQ(rp::md_code("`edge"), "`` `edge ``");
  EXPECT_EQ(rp::html_escape("<a href='x'>&\"</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
}

// ---- number formatting --------------------------------------------------------------------------------------------

TEST(ReportFormat, Numbers) {
  EXPECT_EQ(rp::group_thousands(0), "0");
  EXPECT_EQ(rp::group_thousands(999.4), "999");
  EXPECT_EQ(rp::group_thousands(999.5), "1,000");
  EXPECT_EQ(rp::group_thousands(189696), "189,696");
  EXPECT_EQ(rp::group_thousands(1234567.6), "1,234,568");
  EXPECT_EQ(rp::group_thousands(-1234), "-1,234");
  EXPECT_EQ(rp::fixed(2.5, 2), "2.50");
  EXPECT_EQ(rp::fixed(1.0 / 3.0, 4), "0.3333");
  EXPECT_EQ(rp::fixed(812.46, 1), "812.5");
  EXPECT_EQ(rp::join({"a", "b", "c"}), "a, b, c");
  EXPECT_EQ(rp::join({"x"}, " / "), "x");
  EXPECT_EQ(rp::join({}), "");
  EXPECT_EQ(rp::kDash, "\u2014");
}

// ---- write_report -------------------------------------------------------------------------------------------------

TEST(WriteReport, MarkdownAndHtmlOrMarkdownOnly) {
  TempDir tmp("write");
  const rp::Document doc = table_document();
  rp::write_report(tmp.path / "both", "summary", doc, {});
  EXPECT_EQ(slurp(tmp.path / "both" / "summary.md"), rp::to_markdown(doc));
  EXPECT_EQ(slurp(tmp.path / "both" / "summary.html"), rp::to_html(doc));
  EXPECT_TRUE(fs::is_directory(tmp.path / "both" / "figures"));
  rp::write_report(tmp.path / "md", "summary", doc, {}, rp::Formats::kMarkdownOnly);
  EXPECT_EQ(slurp(tmp.path / "md" / "summary.md"), rp::to_markdown(doc));
  EXPECT_FALSE(fs::exists(tmp.path / "md" / "summary.html"));
}

TEST(WriteReport, DrawsItsFigures) {
  REQUIRE_GNUPLOT();
  TempDir tmp("write_figure");
  rp::Document doc;
  doc.title = "One figure";
  doc.blocks.push_back(rp::Figure{"square", "y = x^2", {rp::text("A parabola.")}});
  const rp::FigureJob job{
      "square", "1 1\n2 4\n3 9\n",
      rp::figure_script("square", "y = x^2", 400, 300, "  plot \"square.dat\" using 1:2 with linespoints notitle\n")};
  rp::write_report(tmp.path, "figure", doc, {job});
  ftmamba_test::expect_figure(tmp.path, "square");
  EXPECT_EQ(slurp(tmp.path / "figures" / "square.dat"), job.dat);
  EXPECT_EQ(slurp(tmp.path / "figures" / "square.gp"), job.gp);
  EXPECT_NE(slurp(tmp.path / "figure.html").find("<img src=\"figures/square.svg\""), std::string::npos);
}

// ---- fit_loglog ---------------------------------------------------------------------------------------------------

TEST(LogLogFit, ExactPowerLaw) {
  std::vector<double> xs, ys;
  for (double x : {8.0, 16.0, 64.0, 512.0, 4096.0}) {
    xs.push_back(x);
    ys.push_back(3.0 * std::pow(x, 1.5));
  }
  const auto fit = ftmamba::report::fit_loglog(xs, ys);
  EXPECT_NEAR(fit.slope, 1.5, 1e-12);
  EXPECT_NEAR(fit.log_coef, std::log(3.0), 1e-10);
  EXPECT_NEAR(fit.at(100.0), 3.0 * 1000.0, 1e-8);
  EXPECT_NEAR(ftmamba::report::fit_loglog_slope(xs, ys), 1.5, 1e-12);
}

TEST(LogLogFit, LeastSquaresByHand) {
  // log x = 0, 1, 2 and log y = 0, 1, 4: slope = sum(dx dy) / sum(dx^2) = 4 / 2 = 2, intercept = 5/3 - 2 = -1/3.
  const double e = std::exp(1.0);
  const auto fit = ftmamba::report::fit_loglog({1.0, e, e * e}, {1.0, e, std::exp(4.0)});
  EXPECT_NEAR(fit.slope, 2.0, 1e-12);
  EXPECT_NEAR(fit.log_coef, -1.0 / 3.0, 1e-12);
}

TEST(LogLogFit, RejectsBadInput) {
  using ftmamba::Error;
  using ftmamba::report::fit_loglog_slope;
  EXPECT_THROW(fit_loglog_slope({1.0, 2.0}, {1.0}), Error);
  EXPECT_THROW(fit_loglog_slope({1.0}, {1.0}), Error);
  EXPECT_THROW(fit_loglog_slope({1.0, 0.0}, {1.0, 2.0}), Error);
  EXPECT_THROW(fit_loglog_slope({1.0, 2.0}, {1.0, -2.0}), Error);
  EXPECT_THROW(fit_loglog_slope({4.0, 4.0, 4.0}, {1.0, 2.0, 3.0}), Error);
}

TEST(Gnuplot, ReportsScriptErrors) {
  REQUIRE_GNUPLOT();
  TempDir tmp("gperr");
  try {
    ftmamba::report::run_gnuplot("print 1\nplot no_such_function(x)\n", tmp.path);
    FAIL() << "expected an error";
  } catch (const ftmamba::Error& e) {
    EXPECT_NE(std::string(e.what()).find("undefined function"), std::string::npos) << e.what();
  }
}
