// defines: the causal-LM fine-tuning measurement behind `ftmamba bench finetune`: a MambaLM at a given shape
// takes next-token AdamW steps on random token sequences or on windows of a tokenized text, full or LoRA, in fp32 or
// mixed precision, and the steady-state tokens/s and the peak memory are read off. This is the paper's efficiency claim
// (MPFT + PEFT against full fp32 fine-tuning) measured on our own kernels.
#pragma once
#include <string>
#include <vector>

#include "ftmamba/nn/lora.h"
#include "ftmamba/nn/mamba_lm.h"
#include "ftmamba/train/finetune.h"

namespace ftmamba::experiments {

struct LmFinetuneBenchOptions {
  nn::MambaLMConfig model;
  int64_t batch = 1, length = 512;
  int64_t warmup_steps = 2, steps = 5;
  nn::LoraOptions lora{8, 16.0, 0.0};
  std::vector<std::string> lora_targets{"in_proj", "x_proj", "dt_proj", "out_proj"};
  double lr = 1e-4, max_grad_norm = 1.0;
  uint64_t seed = 0;
  bool cuda_graph = true;  // on a GPU, capture the step in a CUDA graph after the warm-up (at least 2 steps)
  // (n,) int64 ids of a tokenized text, or undefined for random tokens. Step s's sequence b is the window of
  // `length` ids starting at ((s * batch + b) * length) mod (n - length + 1): consecutive text, wrapping around.
  torch::Tensor corpus;
};

struct LmFinetuneBenchResult {
  double step_ms = 0;       // median over the timed steps (Stopwatch: wall clock, synchronised on a GPU)
  double tokens_per_s = 0;  // batch * length / step time
  double peak_gpu_mib = 0;  // the allocator's peak since the process started (0 on the CPU)
  int64_t trainable = 0, total = 0;
  double loss_first = 0, loss_last = 0;  // the first and the last step's loss
  std::vector<double> losses;            // every step's, warm-up included (each step reads fresh tokens)
  int64_t skipped_steps = 0;             // fp16: steps skipped by the loss scaler
  bool cuda_graph = false;               // the timed steps were replays of a captured step
};

// A published checkpoint's shape ("130m", "370m", ...; see nn::mamba_lm_shape) or LAYERSxD_MODEL ("2x64", for
// small runs), with the given vocabulary. Throws Error "--shapes: ..." for another name.
nn::MambaLMConfig lm_bench_shape(const std::string& name, int64_t vocab);

// The ids of `text_file` tokenized by `tokenizer_json` (no special tokens added), as an (n,) int64 tensor.
// Throws Error naming the file when either cannot be read or the text has no tokens.
torch::Tensor tokenize_corpus(const std::string& text_file, const std::string& tokenizer_json);

// (steps, batch, length) ids: the windows of `corpus` that LmFinetuneBenchOptions::corpus describes. Throws Error
// for a corpus shorter than `length` or with an id outside [0, vocab).
torch::Tensor corpus_windows(const torch::Tensor& corpus, int64_t steps, int64_t batch, int64_t length, int64_t vocab);

// Builds the model (seeded), prepares the variant on `device` (LoRA in a mixed precision also holds the frozen
// base weights, projections and embedding, in the low dtype: they get no gradient and no optimizer state, so
// they need no float32 master copy; A_log, D, the norms, the conv, the biases and the adapters stay float32), takes
// warmup + timed steps on random tokens (or windows of options.corpus) and measures. Throws Error for fp16 on the
// CPU, and for a corpus shorter than one sequence or holding an id outside the vocabulary.
LmFinetuneBenchResult bench_lm_finetune(const LmFinetuneBenchOptions& options, const train::FinetuneVariant& variant,
                                        torch::Device device);

// Prepares a language model for fine-tuning, as every LM fine-tuning here does: with LoRA, adapters on `targets`,
// the rest frozen, and in a mixed precision the frozen projections and embedding held in its low dtype; pure bf16
// casts every weight. Returns the trainable and total parameters. std::invalid_argument for a target that matches
// no projection.
nn::ParameterCount prepare_lm_finetune(nn::MambaLMImpl& model, bool lora, const nn::LoraOptions& options,
                                       const std::vector<std::string>& targets, ops::Precision precision);

}  // namespace ftmamba::experiments
