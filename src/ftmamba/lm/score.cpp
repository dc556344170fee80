// defines: score_tokens (see score.h).
#include "ftmamba/lm/score.h"

#include <numeric>
#include <string>

#include "ftmamba/core/error.h"

namespace ftmamba::lm {

double TokenScores::total() const { return std::accumulate(log_likelihood.begin(), log_likelihood.end(), 0.0); }

TokenScores score_tokens(nn::MambaLMImpl& model, const std::vector<int64_t>& ids) {
  if (ids.empty()) throw Error("no tokens to score");
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= model.cfg.vocab_size)
      throw Error("token " + std::to_string(i) + " is id " + std::to_string(ids[i]) + ", outside the vocabulary 0.." +
                  std::to_string(model.cfg.vocab_size - 1));
  torch::NoGradGuard no_grad;
  const auto device = model.embedding->weight.device();
  const auto tokens = torch::tensor(ids, torch::kInt64).unsqueeze(0).to(device);  // (1, L)
  TokenScores out;
  out.logits = model.forward(tokens)[0].to(torch::kFloat32).to(torch::kCPU).contiguous();  // (L, vocab)
  const auto log_probs = torch::log_softmax(out.logits.to(torch::kFloat64), 1);            // (L, vocab)
  for (size_t t = 1; t < ids.size(); ++t)
    out.log_likelihood.push_back(log_probs[static_cast<int64_t>(t) - 1][ids[t]].item<double>());
  return out;
}

}  // namespace ftmamba::lm
