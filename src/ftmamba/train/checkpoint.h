// defines: TrainerCheckpoint, everything the training loop needs to continue an interrupted run exactly where it
// stopped: the position (epoch, step, the epoch's data order), the model, the optimizer's moments and step
// counts, every random generator (the shuffle's, the negatives', LibTorch's for dropout), the early-stopping
// state and the history so far. One file, RUN.partial/checkpoint/state.safetensors: the tensors, and the rest
// as JSON in the header's metadata. Written atomically, so a kill at any moment leaves the previous checkpoint
// or the new one.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ftmamba/io/safetensors.h"
#include "ftmamba/run/records.h"

namespace ftmamba::train {

struct TrainerCheckpoint {
  // Where the loop stands. epoch is 1-based; step counts the steps of `epoch` done. epoch_done: its validation
  // and early-stopping decision are done too, so the loop goes on with the next epoch.
  int64_t epoch = 1, step = 0;
  bool epoch_done = false;
  bool finished = false;       // the loop ended: all epochs, or early stopping
  std::vector<int64_t> order;  // (n_train) the current epoch's order of the training rows

  std::string shuffle_rng;  // std::mt19937_64 state, as its operator<< writes it
  double loss_sum = 0.0;    // the current epoch's so far
  double epoch_seconds = 0.0;
  int64_t samples = 0, skipped_before = 0, nonfinite_steps = 0, nonfinite_in_a_row = 0;

  int64_t bad_epochs = 0, best_epoch = 0, total_samples = 0;
  double best_valid_hr10 = -1.0, train_seconds = 0.0;
  bool stopped_early = false;
  std::vector<torch::Tensor> best_state;  // the best epoch's parameters, Module::parameters() order
  std::vector<run::EpochRecord> history;

  nlohmann::ordered_json runner;  // StepRunner::save_state's JSON
  io::NamedTensors tensors;       // model/..., optimizer/..., rng/...: StepRunner::save_state's tensors
};

// The file inside a checkpoint folder.
std::filesystem::path checkpoint_file(const std::filesystem::path& checkpoint_dir);

// Writes checkpoint_dir/state.safetensors atomically. Throws Error naming the file when a tensor is not
// finite (a checkpoint is only ever of a good state).
void save_checkpoint(const std::filesystem::path& checkpoint_dir, const TrainerCheckpoint& checkpoint);
// Throws Error naming the file for a missing or malformed checkpoint.
TrainerCheckpoint load_checkpoint(const std::filesystem::path& checkpoint_dir);

// LibTorch's default generators (CPU, and the device's when it is a GPU): dropout and initialisation draw from
// them. As "rng/cpu" and "rng/cuda" uint8 state tensors.
void save_torch_generators(io::NamedTensors& out, torch::Device device);
void load_torch_generators(const std::map<std::string, torch::Tensor>& in, torch::Device device);

}  // namespace ftmamba::train
