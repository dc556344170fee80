// Benchmark: two-tower training steps/s and encoding samples/s of ftmamba on a dataset folder, at a
// given model size. Prints one JSON line. The PyTorch peer (pytorch_peer.py) measures the same thing.
//   bench_train --data DIR [--model ft-mamba] [--d 64] [--layers 2] [--batch 512] [--steps 30] [--device auto]
//               [--no-graph] [--precision fp32|bf16|fp16|bf16-pure] [--profile OUT.json]
// --profile: after the timed steps, two more steps under LibTorch's profiler; writes the self time of each
// operator and input shapes as JSON (bench/profile_summary.py prints it as a table).
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>

#include "ftmamba/core/device.h"
#include "ftmamba/core/memory.h"
#include "ftmamba/core/threads.h"
#include "ftmamba/core/timer.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/ops/precision.h"
#include "ftmamba/run/config.h"
#include "ftmamba/run/run.h"
#include "ftmamba/train/trainer.h"
#include "torch/csrc/autograd/profiler_legacy.h"

namespace {

// Self time (its time less that of the operators it calls) per (operator, input shapes), summed over the events
// of LibTorch's legacy profiler, whose push / pop pairs nest on each thread.
nlohmann::ordered_json self_times(const torch::autograd::profiler::thread_event_lists& lists) {
  struct Open {
    std::string key;
    double start, children;
  };
  std::map<std::string, std::pair<double, int64_t>> by_key;  // key -> (self us, calls)
  for (const auto& events : lists) {
    std::vector<Open> stack;
    for (const auto& e : events) {
      if (e.kindStr() == "push") {
        std::ostringstream key;
        key << e.name();
        for (const auto& shape : e.shapes()) {
          key << " [";
          for (size_t i = 0; i < shape.size(); ++i) key << (i ? "," : "") << shape[i];
          key << "]";
        }
        stack.push_back({key.str(), e.cpuUs(), 0.0});
      } else if (e.kindStr() == "pop" && !stack.empty()) {
        const Open o = stack.back();
        stack.pop_back();
        const double took = e.cpuUs() - o.start;
        auto& [self, calls] = by_key[o.key];
        self += took - o.children;
        ++calls;
        if (!stack.empty()) stack.back().children += took;
      }
    }
  }
  nlohmann::ordered_json out = nlohmann::json::array();
  for (const auto& [key, v] : by_key) out.push_back({{"op", key}, {"self_us", v.first}, {"calls", v.second}});
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir, model = "ft-mamba", device_spec = "auto", precision = "fp32", profile_path;
  int64_t d = 64, layers = 2, batch = 512, steps = 30, warmup = 3, threads = 1;
  bool keep_resident = true, cuda_graph = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return std::string(i + 1 < argc ? argv[++i] : ""); };
    if (a == "--data")
      data_dir = next();
    else if (a == "--model")
      model = next();
    else if (a == "--d")
      d = std::stoll(next());
    else if (a == "--layers")
      layers = std::stoll(next());
    else if (a == "--batch")
      batch = std::stoll(next());
    else if (a == "--steps")
      steps = std::stoll(next());
    else if (a == "--warmup")
      warmup = std::stoll(next());
    else if (a == "--threads")
      threads = std::stoll(next());
    else if (a == "--default-malloc")
      keep_resident = false;
    else if (a == "--device")
      device_spec = next();
    else if (a == "--profile")
      profile_path = next();
    else if (a == "--no-graph")
      cuda_graph = false;
    else if (a == "--precision")
      precision = next();
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  if (data_dir.empty()) {
    std::fprintf(stderr, "usage: bench_train --data DIR [--model M] [--d N] [--layers N] [--batch N] [--steps N]\n");
    return 2;
  }
  if (keep_resident) ftmamba::keep_memory_resident();
  ftmamba::set_cpu_threads(static_cast<int>(threads));
  torch::manual_seed(0);
  ftmamba::run::RunConfig cfg;
  cfg.set("model.type", model);
  cfg.model.d_token = d;
  cfg.model.embed_dim = d;
  cfg.model.n_layers = layers;
  cfg.train.batch_size = batch;
  cfg.train.cuda_graph = cuda_graph;
  cfg.set("train.precision", precision);
  auto data = ftmamba::run::prepare_data(data_dir, cfg);
  const torch::Device device = ftmamba::choose_device(device_spec);
  auto net = ftmamba::run::build_model(cfg, data.user_encoding, data.item_encoding);
  net->to(device);
  ftmamba::train::StepRunner runner(net, data, cfg, warmup + steps);
  std::vector<int64_t> order = data.split.train;
  std::mt19937_64 rng(0);
  std::shuffle(order.begin(), order.end(), rng);
  auto run_steps = [&](int64_t from, int64_t n) {
    for (int64_t s = from; s < from + n; ++s)
      runner.step(order.data() + (s * batch) % (static_cast<int64_t>(order.size()) - batch), batch);
  };
  run_steps(0, warmup);
  ftmamba::Stopwatch watch(device);
  run_steps(warmup, steps);
  const auto train = watch.lap();
  const double train_sps = steps * batch / (train.wall_ms * 1e-3);
  // Per CPU second as well: on a shared machine other processes stretch wall time but not ours.
  const double train_cpu_sps = steps * batch / (train.cpu_ms * 1e-3);
  if (!profile_path.empty()) {
    namespace prof = torch::profiler::impl;
    torch::autograd::profiler::enableProfilerLegacy(prof::ProfilerConfig(prof::ProfilerState::CPU, true));
    run_steps(warmup + steps, 2);
    const auto times = self_times(torch::autograd::profiler::disableProfilerLegacy());
    ftmamba::io::write_file_atomic(profile_path,
                                   nlohmann::ordered_json{{"steps", 2}, {"operators", times}}.dump(1) + "\n");
  }

  // Encoding: the whole item catalog in batches of 4096, repeated for ~3 s, in the precision trained with
  // (autocast for bf16 / fp16, as the peer's --amp encodes). The catalog's features live on the model's device, as
  // a serving process would keep them.
  const ftmamba::ops::AutocastScope autocast(cfg.train.precision, device);
  const auto items = data.items.to(device);
  ftmamba::nn::encode_all(
      *net->item_tower,
      items.index_select(torch::arange(std::min<int64_t>(4096, items.size()), torch::TensorOptions().device(device))),
      4096);
  watch.restart();
  int64_t encoded = 0;
  while (watch.seconds() < 3.0) {  // each reading waits for the queued encoding
    ftmamba::nn::encode_all(*net->item_tower, items, 4096);
    encoded += items.size();
  }
  const double enc_sps = encoded / watch.seconds();
  nlohmann::ordered_json j = {{"impl", "ftmamba"},
                              {"model", model},
                              {"d", d},
                              {"layers", layers},
                              {"batch", batch},
                              {"threads", threads},
                              {"device", device.str()},
                              {"precision", precision},
                              {"cuda_graph", runner.graph_captured()},
                              {"malloc", keep_resident ? "resident" : "default"},
                              {"params", ftmamba::run::count_parameters(*net)},
                              {"train_samples_per_sec", std::round(train_sps * 10) / 10},
                              // Rows through the towers: every pair's user and item (no de-duplication).
                              {"train_rows_per_sec", std::round(2 * train_sps * 10) / 10},
                              {"train_samples_per_cpu_sec", std::round(train_cpu_sps * 10) / 10},
                              {"encode_samples_per_sec", std::round(enc_sps * 10) / 10}};
  std::printf("%s\n", j.dump().c_str());
  return 0;
}
