// defines: few-shot multiple-choice evaluation of a language model, what `ftmamba lm eval` runs, as
// lm-evaluation-harness defines its measures: each choice is scored by the log-likelihood of " " + choice after
// the prompt (k solved examples, each "context choice", then the context, joined by blank lines); acc counts the
// docs whose gold choice scores highest, acc_norm the same with each score divided by the choice's length in
// characters. The in-context-learning gain of k shots is acc(k) - acc(0), per task and averaged over the tasks.
//
// Tasks: JSON Lines, one doc per line: {"task": NAME, "context": TEXT, "choices": [TEXT, ...], "gold": INDEX,
// "split": "eval" (the default) or "fewshot"}. A task's few-shot examples are drawn from its "fewshot" docs, or,
// when it has none, from its other eval docs; the draw for each doc is fixed by the seed.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "ftmamba/lm/tokenizer.h"
#include "ftmamba/nn/mamba_lm.h"

namespace ftmamba::lm {

struct ChoiceDoc {
  std::string task, context;
  std::vector<std::string> choices;
  int64_t gold = 0;
  bool fewshot = false;  // in the task's pool of examples, not evaluated
  int64_t line = 0;
};

// Error "PATH:LINE: key '...'" for a malformed line, a missing or mistyped key, fewer than 2 choices, gold out of
// range, an unknown split; "PATH: no eval docs" for a file without any.
std::vector<ChoiceDoc> read_choice_tasks(const std::filesystem::path& path);

struct FewShotOptions {
  std::vector<int64_t> shots{0};
  uint64_t seed = 1234;
  int64_t limit = 0;  // eval docs per task at most; 0: all
};

struct ShotScore {
  int64_t shots = 0, docs = 0;
  double acc = 0, acc_norm = 0;
  double gain = 0, gain_norm = 0;  // over 0 shots (0 when 0 shots is not among the shots)
};
struct TaskScores {
  std::string task;
  std::vector<ShotScore> by_shots;  // in the order of FewShotOptions::shots
};
struct FewShotReport {
  std::vector<TaskScores> tasks;   // in the order they first appear in the file
  std::vector<ShotScore> average;  // the tasks' mean, per number of shots
};

// The prompt of `doc` after `examples` (few-shot docs, each with its gold choice).
std::string few_shot_prompt(const ChoiceDoc& doc, const std::vector<const ChoiceDoc*>& examples);

// The examples drawn for eval doc `index` of `pool` (none when shots is 0): `shots` distinct docs, never the doc
// itself, fixed by (seed, doc's line). Error when the pool is too small.
std::vector<const ChoiceDoc*> draw_examples(const std::vector<const ChoiceDoc*>& pool, const ChoiceDoc& doc,
                                            int64_t shots, uint64_t seed);

FewShotReport evaluate_few_shot(nn::MambaLMImpl& model, const Tokenizer& tokenizer, const std::vector<ChoiceDoc>& docs,
                                const FewShotOptions& options);

}  // namespace ftmamba::lm
