// defines: run_lm_finetune, what `ftmamba lm finetune` does: a pretrained Mamba language model (either checkpoint
// layout) fine-tuned on instruction data (lm/instruction_data.h: the loss on the responses only), with LoRA
// adapters (the default; the base frozen, and in bf16 / fp16 held in that precision: MPFT + PEFT, the second
// paper's recipe) or every weight (--full), AdamW, in fp32, bf16 or fp16 autocast. The output folder is written
// whole or not at all (io::StagedDir): LoRA gives PEFT's adapter folder, --full a transformers model folder; both
// get the tokenizer.json, train_log.jsonl (a line per step) and ftmamba_finetune.json (what was run and what came
// of it). While it trains, OUT.partial/checkpoint holds where it stands (every checkpoint_steps steps, each
// epoch's end, and on SIGINT / SIGTERM before it stops); --resume continues from there, to the same result as an
// uninterrupted run.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "ftmamba/nn/lora.h"
#include "ftmamba/ops/precision.h"

namespace ftmamba::experiments {

struct LmFinetuneRequest {
  std::filesystem::path model_dir, data, out;
  bool full = false;                    // every weight trained, instead of LoRA adapters
  bool gradient_checkpointing = false;  // recompute each layer in the backward instead of keeping its activations
  ops::Precision precision = ops::Precision::kFp32;
  nn::LoraOptions lora{8, 16.0, 0.0};
  std::vector<std::string> targets{"in_proj", "x_proj", "dt_proj", "out_proj"};
  int64_t epochs = 1, batch = 4, max_length = 512;
  double lr = 2e-4, max_grad_norm = 1.0, weight_decay = 0.0;
  uint64_t seed = 0;
  bool force = false;             // replace an existing output folder of the same kind
  bool resume = false;            // continue the interrupted run at `out` (the same settings) from its checkpoint
  int64_t checkpoint_steps = 50;  // a checkpoint every so many steps (0: only at each epoch's end)
  torch::Device device = torch::kCPU;
};

struct LmFinetuneResult {
  int64_t examples = 0, steps = 0, target_tokens = 0;  // target tokens: per epoch
  int64_t trainable = 0, total = 0;
  double first_loss = 0, last_loss = 0;  // the first step's, and the last epoch's mean
  double tokens_per_second = 0;          // tokens of the batches (padding excluded) over the training time
  // Why PEFT + transformers cannot reproduce the adapters: out_proj is adapted (PEFT refuses that target for
  // Mamba) or dt_proj (PEFT loads it, but transformers' Mamba forward bypasses it). Empty when they can.
  std::string peft_note;
  bool peft_loadable() const { return peft_note.empty(); }
  bool resumed = false;  // continued an interrupted run
};

// Throws Error for a bad model folder, data file, option or output folder (before any training), and names the
// steps' problem (a non-finite loss) if training fails; the output folder is then left as it was. Throws
// Interrupted after writing a checkpoint when a signal stops it.
LmFinetuneResult run_lm_finetune(const LmFinetuneRequest& request,
                                 const std::function<void(const std::string&)>& progress = {});

}  // namespace ftmamba::experiments
