// defines: render_finetune_report (see finetune_report.h): the setup paragraphs, one table row per variant,
// and a three-panel bar chart (HR@10, training samples/s, memory per sample).
#include "ftmamba/experiments/finetune_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>

#include "ftmamba/report/document.h"
#include "ftmamba/report/figure.h"
#include "ftmamba/report/write.h"

namespace ftmamba::experiments {
namespace fs = std::filesystem;
using nlohmann::json;
using report::Align;
using report::cell;
using report::code;
using report::text;

namespace {

// j[key] as a number, 0 when absent: the report shows what was measured and zeros for what was not.
double number(const json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : 0.0;
}

report::Table variants_table(const json& variants) {
  report::Table t;
  t.columns = {{"variant", Align::kLeft},
               {"HR@10", Align::kRight},
               {"NDCG@10", Align::kRight},
               {"MRR@10", Align::kRight},
               {"HR@10 \u2212 full fp32", Align::kRight},
               {"share of full fp32's gain", Align::kRight},
               {"cosine distance to full fp32 (users / items)", Align::kRight},
               {"train samples/s", Align::kRight},
               {"peak memory (MiB)", Align::kRight},
               {"memory per sample (KiB)", Align::kRight},
               {"trainable parameters", Align::kRight}};
  for (const auto& v : variants) {
    const auto& test = v.at("test");
    const double per_sample = number(v, "peak_memory_mib") * 1024.0 / std::max(1.0, number(v, "batch_size"));
    const double trainable = number(v, "trainable_parameters"), total = number(v, "total_parameters");
    const json cosine = v.value("cosine_distance_to_full_fp32", json::object());
    t.rows.push_back(
        {{cell(v.value("name", std::string())), cell(fmt::format("{:.4f}", number(test, "HR@10"))),
          cell(fmt::format("{:.4f}", number(test, "NDCG@10"))), cell(fmt::format("{:.4f}", number(test, "MRR@10"))),
          cell(fmt::format("{:+.4f}", number(v, "hr10_minus_full_fp32"))),
          cell(fmt::format("{:.1f}%", 100.0 * number(v, "share_of_full_fp32_gain"))),
          cell(fmt::format("{:.2e} / {:.2e}", number(cosine, "users"), number(cosine, "items"))),
          cell(fmt::format("{:.0f}", number(v, "train_samples_per_sec"))),
          cell(fmt::format("{:.0f} ({})", number(v, "peak_memory_mib"), v.value("memory_measure", std::string()))),
          cell(fmt::format("{:.1f}", per_sample)),
          cell(fmt::format("{:.0f} ({:.1f}%)", trainable, total > 0 ? 100.0 * trainable / total : 0.0))},
         false});
  }
  return t;
}

// figures/finetune: per variant, test HR@10 (with the base model's as a line), training samples/s, and peak
// memory per sample.
report::FigureJob finetune_figure(const json& variants, const json& base) {
  std::string dat = "# variant HR@10 train_samples_per_sec KiB_per_sample\n";
  for (const auto& v : variants) {
    const double per_sample = number(v, "peak_memory_mib") * 1024.0 / std::max(1.0, number(v, "batch_size"));
    dat += fmt::format("{} {:.6f} {:.1f} {:.3f}\n", report::gp_quote(v.value("name", std::string())),
                       number(v.at("test"), "HR@10"), number(v, "train_samples_per_sec"), per_sample);
  }
  const std::string body = fmt::format(
      "  set multiplot layout 1,3\n"
      "  set style data histograms\n  set style fill solid 0.8 border -1\n  set boxwidth 0.8\n"
      "  set xtics rotate by -35 nomirror\n  set grid ytics\n  unset key\n"
      "  set title \"test HR@10 (line: base model)\"\n  set yrange [0:*]\n"
      "  plot \"finetune.dat\" using 2:xtic(1) lc rgb \"#3b6ea8\", {:.6f} with lines lw 2 lc rgb \"#c0392b\"\n"
      "  set title \"training samples/s\"\n"
      "  plot \"finetune.dat\" using 3:xtic(1) lc rgb \"#4c9a5b\"\n"
      "  set title \"peak memory per sample (KiB)\"\n"
      "  plot \"finetune.dat\" using 4:xtic(1) lc rgb \"#b07d2a\"\n"
      "  unset multiplot\n",
      number(base, "HR@10_on_finetune_data"));
  return {"finetune", dat,
          report::figure_script("finetune", "Fine-tuning variants: quality, speed and memory", 1500, 480, body)};
}

}  // namespace

void render_finetune_report(const json& finetune, const fs::path& dir) {
  const auto& variants = finetune.at("variants");
  const auto& base = finetune.at("base");
  report::Document doc;
  doc.title = finetune.value("title", std::string("Fine-tuning comparison"));
  doc.blocks.push_back(report::Paragraph{{text(fmt::format(
      "Created {} on {}.", finetune.value("created", std::string()), finetune.value("machine", std::string())))}});
  doc.blocks.push_back(report::Paragraph{{code(finetune.value("command", std::string()))}});
  if (finetune.contains("drift") && finetune["drift"].is_object()) {
    const json& drift = finetune["drift"];
    doc.blocks.push_back(report::Paragraph{
        {text("The fine-tuning data is the base data with drift: segment "),
         code(drift.value("segment", std::string("?"))),
         text(fmt::format(" ({} users), strength {}.", drift.value("users", 0), drift.value("strength", 0.0)))}});
  }
  doc.blocks.push_back(report::Paragraph{{text(fmt::format(
      "The base model, trained on the base data, scores HR@10 {:.4f} on the fine-tuning data's test split (full "
      "catalog); on its own data's test split it scored {:.4f}.",
      number(base, "HR@10_on_finetune_data"), number(base, "HR@10_on_base_data")))}});
  doc.blocks.push_back(variants_table(variants));
  doc.blocks.push_back(report::Paragraph{
      {text("HR@10 \u2212 full fp32 and the cosine distances measure how far each variant lands from full fp32 "
            "fine-tuning (the reference); the share of the gain is (HR@10 \u2212 base) / (full fp32 HR@10 \u2212 "
            "base). Memory per sample is the peak divided by the batch size.")}});
  doc.blocks.push_back(report::Figure{
      "finetune",
      "fine-tuning comparison",
      {text("Per variant: test HR@10 (the line marks the base model before fine-tuning), training samples/s, and "
            "peak memory per sample (KiB).")}});
  report::write_report(dir, "finetune", doc, {finetune_figure(variants, base)}, report::Formats::kMarkdownOnly);
}

}  // namespace ftmamba::experiments
