// defines: FixedShapeStep, the training step as a GPU runs it. Every pair of the batch is encoded (no
// deduplication), a repeated item is masked rather than removed (in_batch_softmax_loss_fixed), and the ids
// reach the device in one copy. Every shape then depends on the batch size alone, so a full batch's forward,
// backward and optimizer step are captured once in a CUDA graph and replayed: one launch per step instead of
// several hundred, and the host no longer sets the pace. A shorter batch (the last of an epoch) runs the same
// code eagerly, so no pair is dropped or padded.
#pragma once
#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ftmamba/data/preprocess.h"
#include "ftmamba/nn/two_tower.h"
#include "ftmamba/run/config.h"

namespace ftmamba::train {

class FixedShapeStep {
 public:
  // model, the feature tables and item_log_q ((n_items) float32, or undefined without logQ) live on one
  // device. batch: the full batch size, the one that is captured. use_graph: capture when graphs_supported()
  // and the device is a GPU; otherwise every step runs eagerly. weighted: every step() gives pair weights.
  FixedShapeStep(nn::TwoTower model, data::EncodedFeatures users, data::EncodedFeatures items, torch::Tensor item_log_q,
                 const run::TrainConfig& tc, int64_t batch, bool use_graph, bool weighted = false);
  ~FixedShapeStep();

  // users: (len) user rows. items: the len positive item rows, then for a pointwise loss tc.negatives random
  // rows per pair, pair-major. Runs forward, backward and the AdamW step at `lr`; returns the batch loss
  // (read back, so the host waits for the step). weights: (len) pair weights when constructed `weighted`.
  double step(const int64_t* users, const int64_t* items, int64_t len, double lr, const float* weights = nullptr);
  // The last step's loss or a gradient was inf or NaN, so it changed nothing (decided on the device).
  bool last_step_skipped() const;
  bool graph_captured() const;
  // The optimizer's (and fp16's loss scaler's) state as live tensors, "optimizer/..." and "scaler/...";
  // load_state copies into them.
  std::vector<std::pair<std::string, torch::Tensor>> state() const;
  void load_state(const std::map<std::string, torch::Tensor>& state);
  // fp16: steps skipped so far because a gradient overflowed (reads the device); 0 otherwise.
  int64_t skipped_steps() const;
  // This build can capture CUDA graphs (CUDA kernels and LibTorch >= 2.1).
  static bool graphs_supported();

 private:
  struct Impl;
  std::unique_ptr<Impl> s_;
};

}  // namespace ftmamba::train
