// defines: run_generation (see generation_run.h).
#include "ftmamba/lm/generation_run.h"

#include <optional>

#include "ftmamba/core/error.h"
#include "ftmamba/lm/decoded_stream.h"
#include "ftmamba/lm/pretrained.h"

namespace ftmamba::lm {

GenerationOutcome run_generation(const GenerationRequest& request,
                                 const std::function<void(const std::string& text)>& on_text) {
  auto pretrained = PretrainedLM::load(request.model_dir, request.device, request.adapters);
  GenerationOutcome out;
  if (!request.prompt_ids.empty()) out.prompts.push_back(request.prompt_ids);
  for (const auto& text : request.prompt_texts) {
    out.prompts.push_back(pretrained.require_tokenizer().encode(text));
    if (out.prompts.back().empty()) throw Error("prompt " + std::to_string(out.prompts.size()) + " has no tokens");
  }
  auto sampling = request.sampling;
  prepare_for_decoding(*pretrained.model, sampling.precision);
  sampling.stop_ids.clear();
  if (!request.ignore_eos && pretrained.config.eos_token_id >= 0) sampling.stop_ids = {pretrained.config.eos_token_id};
  const auto* tokenizer = pretrained.tokenizer ? &*pretrained.tokenizer : nullptr;
  out.streamed = request.stream_text && out.prompts.size() == 1 && tokenizer && on_text;
  std::optional<DecodedStream> stream;
  if (out.streamed) stream.emplace(*tokenizer);
  out.outputs = generate(
      *pretrained.model, out.prompts, sampling,
      [&](size_t, int64_t id) {
        if (stream) on_text(stream->push(id));
      },
      &out.times);
  if (stream) on_text(stream->finish());
  if (tokenizer)
    for (const auto& ids : out.outputs) out.completions.push_back(tokenizer->decode(ids, /*skip_special_tokens=*/true));
  return out;
}

}  // namespace ftmamba::lm
