// defines: save_checkpoint / load_checkpoint and the generator states (see checkpoint.h).
#include "ftmamba/train/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#ifdef FTMAMBA_WITH_CUDA
#include <ATen/cuda/CUDAGeneratorImpl.h>
#endif

#include <mutex>

#include "ftmamba/core/error.h"

namespace ftmamba::train {
namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

fs::path checkpoint_file(const fs::path& checkpoint_dir) { return checkpoint_dir / "state.safetensors"; }

void save_checkpoint(const fs::path& checkpoint_dir, const TrainerCheckpoint& c) {
  const fs::path file = checkpoint_file(checkpoint_dir);
  json j;
  j["format"] = "ftmamba-trainer-checkpoint-1";
  j["epoch"] = c.epoch;
  j["step"] = c.step;
  j["epoch_done"] = c.epoch_done;
  j["finished"] = c.finished;
  j["shuffle_rng"] = c.shuffle_rng;
  j["loss_sum"] = c.loss_sum;
  j["epoch_seconds"] = c.epoch_seconds;
  j["samples"] = c.samples;
  j["skipped_before"] = c.skipped_before;
  j["nonfinite_steps"] = c.nonfinite_steps;
  j["nonfinite_in_a_row"] = c.nonfinite_in_a_row;
  j["bad_epochs"] = c.bad_epochs;
  j["best_epoch"] = c.best_epoch;
  j["total_samples"] = c.total_samples;
  j["best_valid_hr10"] = c.best_valid_hr10;
  j["train_seconds"] = c.train_seconds;
  j["stopped_early"] = c.stopped_early;
  j["best_state"] = c.best_state.size();
  j["history"] = json::array();
  for (const auto& e : c.history) j["history"].push_back(e.to_json());
  j["runner"] = c.runner;

  io::NamedTensors tensors = c.tensors;
  tensors.emplace_back("order", torch::tensor(c.order, torch::kInt64));
  for (size_t i = 0; i < c.best_state.size(); ++i) tensors.emplace_back("best/" + std::to_string(i), c.best_state[i]);
  for (const auto& [name, t] : tensors)
    if (t.is_floating_point() && !torch::isfinite(t).all().item<bool>())
      throw Error(file.string() + ": not written: tensor " + name + " is not finite");
  fs::create_directories(checkpoint_dir);
  io::save_safetensors(file, tensors, {{"trainer", j.dump()}});
}

TrainerCheckpoint load_checkpoint(const fs::path& checkpoint_dir) {
  const fs::path file = checkpoint_file(checkpoint_dir);
  if (!fs::is_regular_file(file)) throw Error(file.string() + ": no checkpoint to resume from");
  std::map<std::string, std::string> meta;
  auto tensors = io::load_safetensors(file, &meta);
  TrainerCheckpoint c;
  try {
    const json j = json::parse(meta.at("trainer"));
    if (j.at("format") != "ftmamba-trainer-checkpoint-1") throw Error(file.string() + ": unknown checkpoint format");
    c.epoch = j.at("epoch");
    c.step = j.at("step");
    c.epoch_done = j.at("epoch_done");
    c.finished = j.at("finished");
    c.shuffle_rng = j.at("shuffle_rng");
    c.loss_sum = j.at("loss_sum");
    c.epoch_seconds = j.at("epoch_seconds");
    c.samples = j.at("samples");
    c.skipped_before = j.at("skipped_before");
    c.nonfinite_steps = j.at("nonfinite_steps");
    c.nonfinite_in_a_row = j.at("nonfinite_in_a_row");
    c.bad_epochs = j.at("bad_epochs");
    c.best_epoch = j.at("best_epoch");
    c.total_samples = j.at("total_samples");
    c.best_valid_hr10 = j.at("best_valid_hr10");
    c.train_seconds = j.at("train_seconds");
    c.stopped_early = j.at("stopped_early");
    for (const auto& e : j.at("history")) c.history.push_back(run::EpochRecord::from_json(e));
    c.runner = j.at("runner");
    const size_t n_best = j.at("best_state");
    for (size_t i = 0; i < n_best; ++i) c.best_state.push_back(tensors.at("best/" + std::to_string(i)));
    const torch::Tensor order = tensors.at("order").to(torch::kInt64).contiguous();
    c.order.assign(order.data_ptr<int64_t>(), order.data_ptr<int64_t>() + order.numel());
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(file.string() + ": malformed checkpoint: " + e.what());
  }
  for (auto& [name, t] : tensors)
    if (name != "order" && name.rfind("best/", 0) != 0) c.tensors.emplace_back(name, t);
  return c;
}

void save_torch_generators(io::NamedTensors& out, torch::Device device) {
  auto cpu = at::detail::getDefaultCPUGenerator();
  {
    std::lock_guard<std::mutex> lock(cpu.mutex());
    out.emplace_back("rng/cpu", cpu.get_state());
  }
#ifdef FTMAMBA_WITH_CUDA
  if (device.is_cuda()) {
    auto gpu = at::cuda::detail::getDefaultCUDAGenerator(device.index() < 0 ? 0 : device.index());
    std::lock_guard<std::mutex> lock(gpu.mutex());
    out.emplace_back("rng/cuda", gpu.get_state());
  }
#else
  (void)device;
#endif
}

void load_torch_generators(const std::map<std::string, torch::Tensor>& in, torch::Device device) {
  if (auto it = in.find("rng/cpu"); it != in.end()) {
    auto cpu = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(cpu.mutex());
    cpu.set_state(it->second);
  }
#ifdef FTMAMBA_WITH_CUDA
  if (auto it = in.find("rng/cuda"); it != in.end() && device.is_cuda()) {
    auto gpu = at::cuda::detail::getDefaultCUDAGenerator(device.index() < 0 ? 0 : device.index());
    std::lock_guard<std::mutex> lock(gpu.mutex());
    gpu.set_state(it->second);
  }
#else
  (void)device;
#endif
}

}  // namespace ftmamba::train
