// defines: Projection, the one linear layer every mixer uses (Mamba's in/x/dt/out_proj, attention's
// q/k/v/o, FFN layers), with an optional LoRA adapter. Parameters are "weight" (out, in) and optional
// "bias", as torch.nn.Linear names them, so checkpoints match mamba_ssm / rtdl; an adapter adds
// "lora_A.weight" (rank, in) and "lora_B.weight" (out, rank), as PEFT names them.
#pragma once
#include <torch/torch.h>

namespace ftmamba::nn {

// A low-rank update of a frozen weight: W x + (alpha / rank) B A dropout(x) (Hu et al., LoRA).
struct LoraOptions {
  int64_t rank = 8;
  double alpha = 16.0;
  double dropout = 0.0;  // on the adapter's input only, in training mode
};

class ProjectionImpl : public torch::nn::Module {
 public:
  ProjectionImpl(int64_t in_features, int64_t out_features, bool bias);
  torch::Tensor forward(const torch::Tensor& x);  // (..., in) -> (..., out)
  // x W^T only; for callers that fuse the bias into a later kernel (dt_proj into the scan).
  torch::Tensor forward_without_bias(const torch::Tensor& x);
  // Output features [begin, begin + count) only: (..., in) -> (..., count). For callers that need part of
  // a fused projection at fewer positions (Mamba's gate at the last token only).
  torch::Tensor forward_outputs(const torch::Tensor& x, int64_t begin, int64_t count);
  // forward / forward_without_bias of one token per row, x (rows, in) -> (rows, out): a single row without an
  // adapter goes as a matrix-vector product (ops::linear_rows). For decoding, one token at a time.
  torch::Tensor forward_rows(const torch::Tensor& x);
  torch::Tensor forward_rows_without_bias(const torch::Tensor& x);
  int64_t in_features() const { return weight.size(1); }
  int64_t out_features() const { return weight.size(0); }

  // Adds an adapter: A ~ U(+-1/sqrt(in)) (torch.nn.Linear's init, as PEFT's), B = 0, so the output is
  // unchanged until B trains. On the weight's device and dtype. Throws if one is attached already.
  void attach_lora(const LoraOptions& options);
  bool has_lora() const { return !lora_A.is_empty(); }
  // Folds the adapter into the weight, W += (alpha / rank) B A, and removes it. No-op without one.
  void merge_lora();
  // The weight this projection applies: W, or W + (alpha / rank) B A with an adapter, differentiable in A and B (a
  // fused node takes it in place of the two products). Undefined while an adapter's dropout is active (training
  // with dropout > 0), whose output no single weight gives.
  torch::Tensor applied_weight();

  torch::Tensor weight;               // (out, in)
  torch::Tensor bias;                 // (out) or undefined
  torch::nn::Linear lora_A{nullptr};  // (in) -> (rank), no bias
  torch::nn::Linear lora_B{nullptr};  // (rank) -> (out), no bias
  double lora_scaling = 0.0;          // alpha / rank
  double lora_dropout = 0.0;

 private:
  // (alpha / rank) B_rows A dropout(x): (..., in) -> (..., rows of B_rows); B_rows is lora_B's weight or a
  // slice of its rows.
  torch::Tensor lora_update(const torch::Tensor& x, const torch::Tensor& B_rows);
  // (alpha / rank) B A in the weight's dtype: what merge_lora adds to the weight, and applied_weight beside it.
  torch::Tensor lora_weight_update();
};
TORCH_MODULE(Projection);

}  // namespace ftmamba::nn
