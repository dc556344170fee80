// defines: merge_adapters (see merge_adapters.h).
#include "ftmamba/lm/merge_adapters.h"

#include "ftmamba/core/error.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/io/staged_dir.h"
#include "ftmamba/lm/pretrained.h"
#include "ftmamba/nn/lora.h"

namespace ftmamba::lm {

int64_t merge_adapters(const MergeRequest& q) {
  io::OutputPolicy policy;
  policy.kind = io::OutputKind::kRun;
  policy.force = q.force;
  policy.inputs = {q.model_dir, q.adapters};
  io::StagedDir::check(q.out, policy);
  auto pretrained = PretrainedLM::load(q.model_dir, torch::kCPU, q.adapters);
  const int64_t merged = nn::merge_lora(*pretrained.model);
  if (merged == 0) throw Error(q.adapters.string() + ": no adapters to merge");
  io::StagedDir out(q.out, policy);
  save_hf_mamba(*pretrained.model, pretrained.config, out.path());
  if (pretrained.tokenizer)
    io::write_file_atomic(out.path() / kTokenizerFile, io::read_file(pretrained.tokenizer_file));
  out.commit();
  return merged;
}

}  // namespace ftmamba::lm
