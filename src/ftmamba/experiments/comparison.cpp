#include "ftmamba/experiments/comparison.h"

#include <fstream>

#include "ftmamba/core/error.h"
#include "ftmamba/core/timer.h"
#include "ftmamba/io/atomic_file.h"
#include "ftmamba/io/json_file.h"
#include "ftmamba/run/records.h"
#include "ftmamba/run/run.h"

namespace ftmamba::experiments {
namespace fs = std::filesystem;

nlohmann::ordered_json read_json_file(const fs::path& file) { return io::read_json_file<nlohmann::ordered_json>(file); }

RunMeasurements measure_run(const fs::path& run_dir, int64_t bias_k, torch::Device device) {
  torch::NoGradGuard no_grad;
  run::Run run = run::Run::load(run_dir, device);
  const auto data = run::prepare_data(run.data_dir, run.config, &run.user_encoding, &run.item_encoding);
  const int64_t batch = run.config.eval.batch_size;
  RunMeasurements m;

  // Encoding speed: one untimed pass over the items warms the allocator, then every user and item, timed.
  nn::encode_all(*run.model->item_tower, data.items, batch);
  const Stopwatch watch(device);                                           // waits for the warm-up pass first
  auto users = nn::encode_all(*run.model->user_tower, data.users, batch);  // (n_users, E)
  auto items = nn::encode_all(*run.model->item_tower, data.items, batch);  // (n_items, E)
  const double seconds = watch.seconds();
  m.encode_samples_per_sec = static_cast<double>(data.users.size() + data.items.size()) / std::max(seconds, 1e-9);

  const auto& inter = data.dataset.interactions;
  const metrics::EvalTask task = metrics::make_eval_task(inter, data.split, metrics::Target::Test);
  const auto top =
      metrics::top_k_full_catalog(metrics::dot_product_scorer(users, items), task, data.items.size(), bias_k);
  std::vector<int64_t> train_counts(data.items.size(), 0);
  for (int64_t r : data.split.train) ++train_counts[inter.item[r]];
  m.bias = metrics::popularity_bias(top, task, train_counts);
  return m;
}

nlohmann::ordered_json comparison_run_entry(const fs::path& run_dir, const std::string& run_dir_label,
                                            const std::string& model, int64_t seed, double peak_rss_mib,
                                            const RunMeasurements& m) {
  const auto metrics = run::read_metrics(run_dir / "metrics.json");
  const auto history = run::read_history(run_dir / "history.jsonl");
  nlohmann::ordered_json e;
  e["model"] = model;
  e["seed"] = seed;
  e["run_dir"] = run_dir_label;
  try {
    e["test"]["full"] = metrics.test.at("full").at("model");
    e["test"]["sampled"] = metrics.test.at("sampled").at("model");
  } catch (const nlohmann::json::exception& ex) {
    throw Error((run_dir / "metrics.json").string() + ": " + ex.what());
  }
  e["best_epoch"] = metrics.best_epoch;
  e["epochs_run"] = metrics.epochs_run;
  double seconds = 0.0;
  e["history"] = nlohmann::ordered_json::array();
  for (const auto& h : history) {
    seconds += h.seconds;
    e["history"].push_back(h.to_json());
  }
  e["efficiency"] = {
      {"parameters", metrics.parameters},
      {"seconds_per_epoch", history.empty() ? 0.0 : seconds / static_cast<double>(history.size())},
      {"train_samples_per_sec", metrics.train_samples_per_sec},
      {"encode_samples_per_sec", m.encode_samples_per_sec},
      {"peak_rss_mib", peak_rss_mib},
  };
  e["popularity_bias"] = {{"k", m.bias.k}, {"predicted", m.bias.predicted}, {"actual", m.bias.actual}};
  return e;
}

nlohmann::ordered_json reference_rows(const fs::path& run_dir) {
  const auto metrics = run::read_metrics(run_dir / "metrics.json");
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  const auto& test = metrics.test;
  for (const auto& [name, row] : test.at("full").items()) {
    if (name == "model") continue;
    out[name]["full"] = row;
    if (test.contains("sampled") && test["sampled"].contains(name)) out[name]["sampled"] = test["sampled"][name];
  }
  return out;
}

}  // namespace ftmamba::experiments
