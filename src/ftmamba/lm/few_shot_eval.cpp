// defines: read_choice_tasks, few_shot_prompt, draw_examples, evaluate_few_shot (see few_shot_eval.h).
#include "ftmamba/lm/few_shot_eval.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "ftmamba/core/error.h"
#include "ftmamba/io/text_lines.h"

namespace ftmamba::lm {
namespace {

using Json = nlohmann::json;
constexpr const char* kTargetDelimiter = " ";
constexpr const char* kFewShotDelimiter = "\n\n";

int64_t characters(const std::string& text) {
  int64_t n = 0;
  for (const char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

// Sum of log p(continuation | prompt), the two tokenized apart and joined.
double continuation_log_likelihood(nn::MambaLMImpl& model, const std::vector<int64_t>& prompt,
                                   const std::vector<int64_t>& continuation) {
  std::vector<int64_t> ids = prompt;
  ids.insert(ids.end(), continuation.begin(), continuation.end());
  const auto device = model.embedding->weight.device();
  const auto tokens = torch::tensor(ids, torch::kInt64).unsqueeze(0).to(device);  // (1, L)
  const auto n = static_cast<int64_t>(continuation.size()), L = static_cast<int64_t>(ids.size());
  // Positions L-n-1 .. L-2 predict the continuation.
  const auto logits = model.forward(tokens)[0].narrow(0, L - n - 1, n).to(torch::kFloat64);  // (n, vocab)
  const auto targets = torch::tensor(continuation, torch::kInt64).to(device).unsqueeze(1);   // (n, 1)
  return torch::log_softmax(logits, 1).gather(1, targets).sum().item<double>();
}

}  // namespace

std::vector<ChoiceDoc> read_choice_tasks(const std::filesystem::path& path) {
  std::vector<ChoiceDoc> docs;
  bool any_eval = false;
  io::for_each_line(path, [&](const std::string& line, int64_t n) {
    if (line.find_first_not_of(" \t") == std::string::npos) return;
    const std::string where = path.string() + ":" + std::to_string(n);
    const Json j = Json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) throw Error(where + ": a doc is a JSON object on one line");
    for (const auto& [key, value] : j.items())
      if (key != "task" && key != "context" && key != "choices" && key != "gold" && key != "split")
        throw Error(where + ": unknown key '" + key + "' (a doc has task, context, choices, gold, split)");
    ChoiceDoc d;
    d.line = n;
    for (const char* key : {"task", "context"}) {
      if (!j.contains(key) || !j[key].is_string()) throw Error(where + ": key '" + key + "': a string is expected");
    }
    d.task = j["task"].get<std::string>();
    d.context = j["context"].get<std::string>();
    if (!j.contains("choices") || !j["choices"].is_array() || j["choices"].size() < 2)
      throw Error(where + ": key 'choices': a list of at least 2 strings is expected");
    for (const auto& c : j["choices"]) {
      if (!c.is_string() || c.get<std::string>().empty())
        throw Error(where + ": key 'choices': each choice is a non-empty string");
      d.choices.push_back(c.get<std::string>());
    }
    if (!j.contains("gold") || !j["gold"].is_number_integer() || j["gold"].get<int64_t>() < 0 ||
        j["gold"].get<int64_t>() >= static_cast<int64_t>(d.choices.size()))
      throw Error(where + ": key 'gold': the index of the right choice, 0.." + std::to_string(d.choices.size() - 1) +
                  ", is expected");
    d.gold = j["gold"].get<int64_t>();
    if (j.contains("split")) {
      const std::string split = j["split"].is_string() ? j["split"].get<std::string>() : "";
      if (split != "eval" && split != "fewshot") throw Error(where + ": key 'split': 'eval' or 'fewshot' is expected");
      d.fewshot = split == "fewshot";
    }
    any_eval = any_eval || !d.fewshot;
    docs.push_back(std::move(d));
  });
  if (!any_eval) throw Error(path.string() + ": no eval docs");
  return docs;
}

std::string few_shot_prompt(const ChoiceDoc& doc, const std::vector<const ChoiceDoc*>& examples) {
  std::string prompt;
  for (const auto* ex : examples)
    prompt += ex->context + kTargetDelimiter + ex->choices[static_cast<size_t>(ex->gold)] + kFewShotDelimiter;
  return prompt + doc.context;
}

std::vector<const ChoiceDoc*> draw_examples(const std::vector<const ChoiceDoc*>& pool, const ChoiceDoc& doc,
                                            int64_t shots, uint64_t seed) {
  std::vector<const ChoiceDoc*> candidates;
  for (const auto* d : pool)
    if (d != &doc) candidates.push_back(d);
  if (static_cast<int64_t>(candidates.size()) < shots)
    throw Error("task '" + doc.task + "': " + std::to_string(shots) + " shots need " + std::to_string(shots) +
                " other docs to draw from, it has " + std::to_string(candidates.size()));
  std::mt19937_64 rng(seed * 1000003u + static_cast<uint64_t>(doc.line));
  std::shuffle(candidates.begin(), candidates.end(), rng);
  candidates.resize(static_cast<size_t>(shots));
  return candidates;
}

FewShotReport evaluate_few_shot(nn::MambaLMImpl& model, const Tokenizer& tokenizer, const std::vector<ChoiceDoc>& docs,
                                const FewShotOptions& options) {
  for (const int64_t k : options.shots)
    if (k < 0) throw Error("--shots: a number of shots is 0 or more");
  torch::NoGradGuard no_grad;
  model.eval();
  std::vector<std::string> order;
  std::map<std::string, std::vector<const ChoiceDoc*>> eval_docs, fewshot_docs;
  for (const auto& d : docs) {
    if (!eval_docs.count(d.task) && !fewshot_docs.count(d.task)) order.push_back(d.task);
    (d.fewshot ? fewshot_docs : eval_docs)[d.task].push_back(&d);
  }
  FewShotReport report;
  for (const auto& task : order) {
    auto& evals = eval_docs[task];
    if (evals.empty()) continue;
    if (options.limit > 0 && static_cast<int64_t>(evals.size()) > options.limit) evals.resize(options.limit);
    const auto& pool = fewshot_docs[task].empty() ? eval_docs[task] : fewshot_docs[task];
    TaskScores scores{task, {}};
    for (const int64_t k : options.shots) {
      ShotScore s;
      s.shots = k;
      for (const auto* doc : evals) {
        const auto prompt = tokenizer.encode(few_shot_prompt(*doc, draw_examples(pool, *doc, k, options.seed)), false);
        double best = -1e300, best_norm = -1e300;
        int64_t pick = -1, pick_norm = -1;
        for (size_t c = 0; c < doc->choices.size(); ++c) {
          const auto continuation = tokenizer.encode(kTargetDelimiter + doc->choices[c], false);
          const double ll = continuation_log_likelihood(model, prompt, continuation);
          const double norm = ll / static_cast<double>(characters(doc->choices[c]));
          if (ll > best) best = ll, pick = static_cast<int64_t>(c);
          if (norm > best_norm) best_norm = norm, pick_norm = static_cast<int64_t>(c);
        }
        s.acc += pick == doc->gold ? 1 : 0;
        s.acc_norm += pick_norm == doc->gold ? 1 : 0;
        ++s.docs;
      }
      s.acc /= static_cast<double>(s.docs);
      s.acc_norm /= static_cast<double>(s.docs);
      scores.by_shots.push_back(s);
    }
    const auto zero =
        std::find_if(scores.by_shots.begin(), scores.by_shots.end(), [](const auto& s) { return s.shots == 0; });
    if (zero != scores.by_shots.end())
      for (auto& s : scores.by_shots) {
        s.gain = s.acc - zero->acc;
        s.gain_norm = s.acc_norm - zero->acc_norm;
      }
    report.tasks.push_back(std::move(scores));
  }
  for (size_t i = 0; i < options.shots.size(); ++i) {
    ShotScore mean;
    mean.shots = options.shots[i];
    for (const auto& t : report.tasks) {
      const auto& s = t.by_shots[i];
      mean.docs += s.docs;
      mean.acc += s.acc / static_cast<double>(report.tasks.size());
      mean.acc_norm += s.acc_norm / static_cast<double>(report.tasks.size());
      mean.gain += s.gain / static_cast<double>(report.tasks.size());
      mean.gain_norm += s.gain_norm / static_cast<double>(report.tasks.size());
    }
    report.average.push_back(mean);
  }
  return report;
}

}  // namespace ftmamba::lm
