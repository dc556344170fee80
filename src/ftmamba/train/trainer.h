// defines: train_two_tower, the training loop (shuffled mini-batches, in-batch softmax or pointwise loss,
// AdamW + warmup/cosine, gradient clipping, per-epoch validation HR@10 and early stopping).
#pragma once
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "ftmamba/io/safetensors.h"
#include "ftmamba/nn/two_tower.h"
#include "ftmamba/run/config.h"
#include "ftmamba/run/records.h"
#include "ftmamba/run/run.h"

namespace ftmamba::train {

struct TrainOptions {
  bool quiet = false;
  // Called after every epoch with its record and the whole history so far (a resumed run's included).
  std::function<void(const run::EpochRecord& epoch, const std::vector<run::EpochRecord>& history)> on_epoch;
  // Checkpoints (train/checkpoint.h) go here: at the end of every epoch, every train.checkpoint_steps steps,
  // every train.checkpoint_minutes, and when a signal asks the run to stop. Empty: none are written, and a
  // signal stops the process at once.
  std::filesystem::path checkpoint_dir;
  // Continue from the checkpoint in checkpoint_dir when there is one.
  bool resume = false;
};

struct TrainResult {
  std::vector<run::EpochRecord> history;
  int64_t best_epoch = 0;  // 1-based; its weights are the ones left in the model
  double best_valid_hr10 = -1;
  double train_seconds = 0;    // time in training steps only (no validation)
  double samples_per_sec = 0;  // over all epochs
  bool stopped_early = false;
  bool resumed = false;         // continued from a checkpoint
  int64_t nonfinite_steps = 0;  // steps skipped because the loss or a gradient was not finite
};

// One optimisation step on a batch of training interactions (loss, backward, clipping, AdamW with the
// scheduled learning rate). train_two_tower drives it; the benchmarks time it directly.
class StepRunner {
 public:
  StepRunner(nn::TwoTower model, const run::PreparedData& data, const run::RunConfig& cfg, int64_t total_steps);
  ~StepRunner();
  // rows: indices into the interactions (at least 2). Returns the batch loss. A step whose loss or gradient
  // norm is not finite changes nothing, on the CPU and on a GPU alike (last_step_skipped()).
  double step(const int64_t* rows, int64_t len);
  bool last_step_skipped() const;
  // Everything the steps to come depend on: the weights, the optimizer, the step count, the generators.
  void save_state(nlohmann::ordered_json& state, io::NamedTensors& tensors) const;
  void load_state(const nlohmann::ordered_json& state, const std::map<std::string, torch::Tensor>& tensors);
  double current_lr() const;
  // A CUDA graph of the step has been captured and is being replayed (GPU, train.cuda_graph, full batches).
  bool graph_captured() const;
  // fp16 on a GPU: steps skipped so far because a gradient overflowed; 0 otherwise.
  int64_t skipped_steps() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// log q(item) for the logQ correction: the item's share of the training split's positives (how often it is an
// in-batch negative), at least 0.5 / n so that an unseen item stays finite. (n_items)
std::vector<double> item_sampling_log_q(const run::PreparedData& data);

// train.weighted_loss with a weight column: each interaction's weight over the training pairs' mean weight
// ((interactions) float32; mean 1 over the training split). Empty when the loss is unweighted. Throws Error
// when every training weight is 0.
std::vector<float> training_pair_weights(const run::PreparedData& data, const run::TrainConfig& tc);

TrainResult train_two_tower(nn::TwoTower& model, const run::PreparedData& data, const run::RunConfig& cfg,
                            const TrainOptions& options = {});

// HR@10 etc. of the model on a task; encodes all items and the task's users.
nlohmann::ordered_json validation_metrics(nn::TwoTower& model, const run::PreparedData& data, int64_t max_users,
                                          int64_t batch_size, uint64_t seed);

}  // namespace ftmamba::train
