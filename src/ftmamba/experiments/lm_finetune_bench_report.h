// defines: render_lm_finetune_bench_markdown, bench-finetune.md: the LM fine-tuning sweep's rows, one table per
// (shape, length), each variant against full fp32 of the same shape beside the paper's headline.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace ftmamba::experiments {

// The paper's headline (Halloran et al. 2024), MPFT + PEFT against full fp32 fine-tuning.
inline constexpr double kPaperSpeedup = 2.15, kPaperMemoryReduction = 0.655;

// rows: run_lm_finetune_sweep's (see lm_finetune_sweep.h); device: what they ran on ("cpu", "cuda:0 (NAME)").
std::string render_lm_finetune_bench_markdown(const nlohmann::ordered_json& rows, const std::string& device);

}  // namespace ftmamba::experiments
