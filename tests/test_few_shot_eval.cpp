// Few-shot multiple-choice evaluation (lm/few_shot_eval.h) on the hand-written tasks of tests/fixtures/lm_eval and
// a tiny random model: the prompt's exact text, a fixed draw of examples that never holds the doc itself, acc and
// acc_norm against each choice scored directly with score_tokens, the ICL gain as acc(k) - acc(0), `lm eval --json`,
// the converter of harness-style files, and bad docs named by line and key.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "binary_runner.h"
#include "error_message.h"
#include "ftmamba/lm/few_shot_eval.h"
#include "ftmamba/lm/pretrained.h"
#include "ftmamba/lm/score.h"
#include "scratch_dir.h"
#include "tiny_lm_folder.h"

namespace fs = std::filesystem;
namespace lm = ftmamba::lm;
using ftmamba_test::error_message;
using nlohmann::json;

namespace {

const fs::path kTasks = fs::path(FTMAMBA_SOURCE_DIR) / "tests" / "fixtures" / "lm_eval" / "tiny_tasks.jsonl";

class FewShotEval : public ftmamba_test::ScratchDirTest {};

// acc and acc_norm of `shots` computed doc by doc with score_tokens.
std::pair<double, double> direct_scores(lm::PretrainedLM& p, const std::vector<lm::ChoiceDoc>& docs,
                                        const std::string& task, int64_t shots, uint64_t seed) {
  std::vector<const lm::ChoiceDoc*> evals, pool;
  for (const auto& d : docs)
    if (d.task == task) (d.fewshot ? pool : evals).push_back(&d);
  if (pool.empty()) pool = evals;
  const auto& tok = p.require_tokenizer();
  double acc = 0, acc_norm = 0;
  for (const auto* doc : evals) {
    const auto prompt = tok.encode(lm::few_shot_prompt(*doc, lm::draw_examples(pool, *doc, shots, seed)), false);
    std::vector<double> ll, norm;
    for (const auto& choice : doc->choices) {
      auto ids = prompt;
      const auto cont = tok.encode(" " + choice, false);
      ids.insert(ids.end(), cont.begin(), cont.end());
      const auto s = lm::score_tokens(*p.model, ids);
      double sum = 0;
      for (size_t t = prompt.size(); t < ids.size(); ++t) sum += s.log_likelihood[t - 1];
      ll.push_back(sum);
      norm.push_back(sum / static_cast<double>(choice.size()));  // ASCII choices: bytes are characters
    }
    acc += std::max_element(ll.begin(), ll.end()) - ll.begin() == doc->gold ? 1 : 0;
    acc_norm += std::max_element(norm.begin(), norm.end()) - norm.begin() == doc->gold ? 1 : 0;
  }
  return {acc / static_cast<double>(evals.size()), acc_norm / static_cast<double>(evals.size())};
}

}  // namespace

TEST_F(FewShotEval, PromptsAndDrawsAreFixed) {
  const auto docs = lm::read_choice_tasks(kTasks);
  ASSERT_EQ(docs.size(), 11u);
  std::vector<const lm::ChoiceDoc*> pool{&docs[0], &docs[1], &docs[2]};
  EXPECT_EQ(lm::few_shot_prompt(docs[3], {&docs[0], &docs[1]}),
            "The capital of France is Paris\n\nThe capital of Italy is Rome\n\nThe capital of Spain is");
  const auto a = lm::draw_examples(pool, docs[3], 2, 7), b = lm::draw_examples(pool, docs[3], 2, 7);
  EXPECT_EQ(a, b);
  EXPECT_NE(a[0], a[1]);
  // From the eval docs themselves (a task without a few-shot split): never the doc being asked.
  std::vector<const lm::ChoiceDoc*> evals;
  for (size_t i = 6; i < 11; ++i) evals.push_back(&docs[i]);
  for (const auto* doc : evals)
    for (const auto* ex : lm::draw_examples(evals, *doc, 4, 1)) EXPECT_NE(ex, doc);
  EXPECT_EQ(error_message([&] { lm::draw_examples(evals, docs[6], 5, 1); }),
            "task 'arithmetic': 5 shots need 5 other docs to draw from, it has 4");
}

TEST_F(FewShotEval, AccuracyMatchesScoringEachChoiceDirectly) {
  ftmamba_test::write_tiny_lm_folder(dir_ / "model", -1);
  auto p = lm::PretrainedLM::load(dir_ / "model", torch::kCPU);
  const auto docs = lm::read_choice_tasks(kTasks);
  lm::FewShotOptions o;
  o.shots = {0, 1, 3};
  o.seed = 11;
  const auto report = lm::evaluate_few_shot(*p.model, p.require_tokenizer(), docs, o);
  ASSERT_EQ(report.tasks.size(), 2u);
  EXPECT_EQ(report.tasks[0].task, "capitals");
  EXPECT_EQ(report.tasks[0].by_shots[0].docs, 3);
  EXPECT_EQ(report.tasks[1].by_shots[2].docs, 5);
  for (const auto& t : report.tasks)
    for (const auto& s : t.by_shots) {
      const auto [acc, acc_norm] = direct_scores(p, docs, t.task, s.shots, o.seed);
      EXPECT_DOUBLE_EQ(s.acc, acc) << t.task << " " << s.shots;
      EXPECT_DOUBLE_EQ(s.acc_norm, acc_norm) << t.task << " " << s.shots;
      EXPECT_DOUBLE_EQ(s.gain, s.acc - t.by_shots[0].acc);
    }
  for (size_t i = 0; i < 3; ++i)
    EXPECT_DOUBLE_EQ(report.average[i].acc, (report.tasks[0].by_shots[i].acc + report.tasks[1].by_shots[i].acc) / 2);
  // The command prints the same numbers.
  const auto r = ftmamba_test::run_binary("lm eval --model " + (dir_ / "model").string() + " --tasks " +
                                          kTasks.string() + " --shots 0,1,3 --seed 11 --json 2>/dev/null");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = json::parse(r.out);
  EXPECT_DOUBLE_EQ(j["tasks"][1]["by_shots"][2]["acc"].get<double>(), report.tasks[1].by_shots[2].acc);
  EXPECT_DOUBLE_EQ(j["average"][1]["icl_gain"].get<double>(), report.average[1].gain);
}

TEST_F(FewShotEval, BadDocsNameTheLineAndKey) {
  const auto message = [&](const std::string& line) {
    const auto p = write("t.jsonl", R"({"task": "a", "context": "c", "choices": ["x", "y"], "gold": 0})"
                                    "\n" +
                                        line);
    return error_message([&] { lm::read_choice_tasks(p); });
  };
  const std::string at = (dir_ / "t.jsonl").string() + ":2: ";
  EXPECT_EQ(message(R"({"task": "a", "context": "c", "choices": ["x"], "gold": 0})"),
            at + "key 'choices': a list of at least 2 strings is expected");
  EXPECT_EQ(message(R"({"task": "a", "context": "c", "choices": ["x", "y"], "gold": 2})"),
            at + "key 'gold': the index of the right choice, 0..1, is expected");
  EXPECT_EQ(message(R"({"task": "a", "context": "c", "choices": ["x", "y"], "gold": 0, "split": "test"})"),
            at + "key 'split': 'eval' or 'fewshot' is expected");
  EXPECT_EQ(message(R"({"task": "a", "context": "c", "choices": ["x", "y"], "gold": 0, "label": 1})"),
            at + "unknown key 'label' (a doc has task, context, choices, gold, split)");
  EXPECT_EQ(message("[1, 2]"), at + "a doc is a JSON object on one line");
}

TEST_F(FewShotEval, TheConverterMapsHarnessStyleDocs) {
  const auto in = write("h.jsonl", R"({"query": "Q: sky?", "choices": ["blue", "green"], "gold": 0})"
                                   "\n"
                                   R"({"ctx": "A man", "endings": ["runs", "sits", "flies"], "label": "2"})"
                                   "\n"
                                   R"({"question": "Pick", "options": {"text": ["x", "y"]}, "answer": "B"})"
                                   "\n");
  const auto out = dir_ / "out.jsonl";
  const std::string cmd = "python3 " + (fs::path(FTMAMBA_SOURCE_DIR) / "scripts" / "lm_eval_to_tasks.py").string() +
                          " --task t " + in.string() + " > " + out.string();
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const auto docs = lm::read_choice_tasks(out);
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(docs[0].context, "Q: sky?");
  EXPECT_EQ(docs[1].choices, (std::vector<std::string>{"runs", "sits", "flies"}));
  EXPECT_EQ(docs[1].gold, 2);
  EXPECT_EQ(docs[2].gold, 1);
}
