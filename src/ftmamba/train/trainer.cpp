#include "ftmamba/train/trainer.h"

#include <fmt/format.h>

#include <cmath>
#include <optional>
#include <random>
#include <sstream>
#include <unordered_map>

#include "ftmamba/core/device.h"
#include "ftmamba/core/error.h"
#include "ftmamba/core/interrupt.h"
#include "ftmamba/core/progress.h"
#include "ftmamba/core/threads.h"
#include "ftmamba/core/timer.h"
#include "ftmamba/metrics/ranking.h"
#include "ftmamba/ops/precision.h"
#include "ftmamba/run/config.h"
#include "ftmamba/run/run.h"
#include "ftmamba/train/checkpoint.h"
#include "ftmamba/train/fixed_shape_step.h"
#include "ftmamba/train/losses.h"
#include "ftmamba/train/optimizer.h"

namespace ftmamba::train {
namespace {

// Maps the ids of a batch to positions in their distinct list, so each entity is encoded once.
struct Dedup {
  std::vector<int64_t> distinct;  // entity rows, first-seen order
  std::vector<int64_t> column;    // (B) position of each batch entry in `distinct`
  explicit Dedup(const std::vector<int64_t>& ids) {
    std::unordered_map<int64_t, int64_t> pos;
    pos.reserve(ids.size() * 2);
    column.reserve(ids.size());
    for (int64_t id : ids) {
      auto [it, fresh] = pos.emplace(id, static_cast<int64_t>(distinct.size()));
      if (fresh) distinct.push_back(id);
      column.push_back(it->second);
    }
  }
};

// (n) int64 on `device`.
torch::Tensor to_tensor(const std::vector<int64_t>& v, torch::Device device = torch::kCPU) {
  return torch::from_blob(const_cast<int64_t*>(v.data()), {static_cast<int64_t>(v.size())}, torch::kInt64)
      .to(device, /*non_blocking=*/false, /*copy=*/true);
}

// `all` lives on the tower's device. The tower runs in the training precision (autocast for the mixed ones);
// the embeddings come back in float32, so that the loss is computed in float32 whatever the precision.
// (rows) of `all` -> (rows, E).
//
// Below float32 on the CPU the rows are padded to a multiple of `row_bucket` by repeating the last one, and
// the padding's outputs are dropped, so no gradient reaches the model through them: LibTorch's bf16 matmuls
// run on oneDNN, which generates machine code for every new matrix shape, and a step's count of distinct
// users and items varies, so unpadded a bf16 step generated about 150 new kernels (a fresh 256 KiB code
// buffer each: 2,000 page faults a step, 18% of its time at d 64). Padded, the shapes are a handful.
torch::Tensor encode(nn::TowerEncoder& tower, const data::EncodedFeatures& all, const std::vector<int64_t>& rows,
                     ops::Precision precision, int64_t row_bucket) {
  const auto device = all.numerical.device();
  const int64_t n = static_cast<int64_t>(rows.size());
  const bool pad = precision != ops::Precision::kFp32 && device.is_cpu() && n % row_bucket != 0;
  std::vector<int64_t> padded;
  if (pad) {
    padded = rows;
    padded.resize((n + row_bucket - 1) / row_bucket * row_bucket, rows.back());
  }
  auto f = all.index_select(to_tensor(pad ? padded : rows, device));
  ops::AutocastScope autocast(precision, device);
  const torch::Tensor emb = tower.forward(f.numerical, f.missing, f.categorical).to(torch::kFloat32);
  return pad ? emb.narrow(0, 0, n) : emb;
}

// The global L2 norm of the gradients, (sum over parameters of |grad|^2)^(1/2).
double gradient_norm(torch::nn::Module& m) {
  torch::NoGradGuard g;
  double sum = 0.0;
  for (const auto& p : m.parameters())
    if (p.grad().defined()) sum += p.grad().to(torch::kFloat64).pow(2).sum().item<double>();
  return std::sqrt(sum);
}

std::vector<torch::Tensor> snapshot(torch::nn::Module& m) {
  torch::NoGradGuard g;
  std::vector<torch::Tensor> s;
  for (auto& p : m.parameters()) s.push_back(p.detach().clone());
  return s;
}

void restore(torch::nn::Module& m, const std::vector<torch::Tensor>& s) {
  torch::NoGradGuard g;
  auto params = m.parameters();
  for (size_t i = 0; i < params.size(); ++i) params[i].copy_(s[i]);
}

}  // namespace

nlohmann::ordered_json validation_metrics(nn::TwoTower& model, const run::PreparedData& data, int64_t max_users,
                                          int64_t batch_size, uint64_t seed) {
  auto task = metrics::make_eval_task(data.dataset.interactions, data.split, metrics::Target::Valid, max_users, seed);
  if (task.size() == 0) return nlohmann::ordered_json::object();
  auto items = nn::encode_all(*model->item_tower, data.items, batch_size);
  auto users = nn::encode_all(*model->user_tower, data.users.index_select(to_tensor(task.users)), batch_size);
  // The scorer receives user rows; map them to rows of the encoded subset.
  std::unordered_map<int64_t, int64_t> slot;
  for (int64_t i = 0; i < task.size(); ++i) slot[task.users[i]] = i;
  metrics::ScoreFn score = [&](const torch::Tensor& rows) {
    std::vector<int64_t> idx(rows.size(0));
    for (int64_t i = 0; i < rows.size(0); ++i) idx[i] = slot.at(rows[i].item<int64_t>());
    return torch::matmul(users.index_select(0, to_tensor(idx, users.device())), items.t());
  };
  return metrics::rank_full_catalog(score, task, data.items.size(), 1024).to_json();
}

// On the CPU a step encodes each distinct user and item of the batch once (Dedup); on a GPU, FixedShapeStep
// encodes every pair so that the step has fixed shapes and can be captured in a CUDA graph.
struct StepRunner::State {
  nn::TwoTower model;
  const run::PreparedData& data;
  torch::Device device;  // the model's
  const run::TrainConfig tc;
  const ops::Precision precision;
  std::unique_ptr<torch::optim::AdamW> optimizer;  // CPU only
  std::unique_ptr<FixedShapeStep> gpu_step;        // GPU only
  LrSchedule schedule;
  std::vector<double> item_log_q;  // log q(item): how often the item is a positive, hence an in-batch negative
  std::vector<float> pair_weight;  // (interactions) weight / mean training weight; empty: unweighted
  std::mt19937_64 rng;
  int64_t global_step = 0;
  bool last_skipped = false;

  State(nn::TwoTower m, const run::PreparedData& d, const run::RunConfig& cfg, int64_t total_steps)
      : model(std::move(m)),
        data(d),
        device(module_device(*model)),
        tc(cfg.train),
        precision(tc.precision),
        schedule(tc.lr, total_steps, tc.warmup_frac, tc.min_lr_ratio),
        item_log_q(item_sampling_log_q(d)),
        pair_weight(training_pair_weights(d, cfg.train)),
        rng(static_cast<uint64_t>(tc.seed) * 0x9E3779B97F4A7C15ULL + 1) {
    ops::check_precision_supported(precision, device);
    ops::cast_weights(*model, precision);  // bf16-pure only; before the optimizer takes the parameters
    if (device.is_cuda()) {
      gpu_step = std::make_unique<FixedShapeStep>(model, d.users.to(device), d.items.to(device),
                                                  torch::tensor(item_log_q).to(torch::kFloat32).to(device), tc,
                                                  tc.batch_size, tc.cuda_graph, !pair_weight.empty());
    } else {
      optimizer = make_optimizer(*model, tc.lr, tc.weight_decay);
    }
  }

  // The pointwise losses' random negatives: k per pair, appended to the batch's positive items.
  void add_negatives(std::vector<int64_t>& items) {
    const int64_t n = static_cast<int64_t>(items.size()) * tc.negatives;
    std::uniform_int_distribution<int64_t> random_item(0, data.items.size() - 1);
    for (int64_t i = 0; i < n; ++i) items.push_back(random_item(rng));
  }

  torch::Tensor softmax_loss(const torch::Tensor& user_emb, const std::vector<int64_t>& users,
                             const std::vector<int64_t>& items, const torch::Tensor& weights) {
    Dedup di(items);
    auto item_emb = encode(*model->item_tower, data.items, di.distinct, precision, tc.cpu_row_bucket);  // (U, E)
    auto cols = to_tensor(di.column);
    torch::Tensor log_q;
    if (tc.logq) {
      std::vector<float> lq(di.distinct.size());
      for (size_t j = 0; j < lq.size(); ++j) lq[j] = static_cast<float>(item_log_q[di.distinct[j]]);
      log_q = torch::tensor(lq);
    }
    auto mask = accidental_hit_mask(to_tensor(users), cols, static_cast<int64_t>(di.distinct.size()));
    return in_batch_softmax_loss(user_emb, item_emb, cols, mask, log_q, tc.temperature, weights);
  }

  // items: the positives, then the negatives (add_negatives).
  torch::Tensor pointwise(const torch::Tensor& user_emb, const std::vector<int64_t>& items,
                          const torch::Tensor& weights) {
    Dedup di(items);
    auto item_emb = encode(*model->item_tower, data.items, di.distinct, precision, tc.cpu_row_bucket)
                        .index_select(0, to_tensor(di.column));
    return pointwise_batch_loss(user_emb, item_emb, tc.negatives, tc.loss, tc.temperature, weights);
  }

  // weights: (B) float32, or undefined when unweighted.
  double cpu_step(const std::vector<int64_t>& users, const std::vector<int64_t>& items, const torch::Tensor& weights) {
    model->train();
    Dedup du(users);
    auto user_emb = encode(*model->user_tower, data.users, du.distinct, precision, tc.cpu_row_bucket)
                        .index_select(0, to_tensor(du.column));  // (B, E)
    auto loss = tc.loss == run::LossKind::kSoftmax ? softmax_loss(user_emb, users, items, weights)
                                                   : pointwise(user_emb, items, weights);
    schedule.apply(*optimizer, global_step);
    optimizer->zero_grad();
    const double value = loss.item<double>();
    // A non-finite loss or gradient changes nothing: the caller counts it, and stops after too many in a row.
    last_skipped = !std::isfinite(value);
    if (last_skipped) return value;
    loss.backward();
    const double norm =
        tc.grad_clip > 0 ? torch::nn::utils::clip_grad_norm_(model->parameters(), tc.grad_clip) : gradient_norm(*model);
    last_skipped = !std::isfinite(norm);
    if (last_skipped) {
      optimizer->zero_grad();
      return value;
    }
    optimizer->step();
    return value;
  }
};

std::vector<double> item_sampling_log_q(const run::PreparedData& data) {
  std::vector<int64_t> count(data.items.size(), 0);
  for (int64_t r : data.split.train) ++count[data.dataset.interactions.item[r]];
  const double n = static_cast<double>(std::max<size_t>(data.split.train.size(), 1));
  std::vector<double> log_q(count.size());
  for (size_t i = 0; i < count.size(); ++i) log_q[i] = std::log(std::max<double>(count[i], 0.5) / n);
  return log_q;
}

std::vector<float> training_pair_weights(const run::PreparedData& data, const run::TrainConfig& tc) {
  if (!tc.weighted_loss || !data.dataset.schema.interactions.weight) return {};
  const auto& w = data.dataset.interactions.weight;
  double sum = 0;
  for (const int64_t r : data.split.train) sum += w[r];
  if (!(sum > 0))
    throw Error("every training interaction has weight 0 (column '" + *data.dataset.schema.interactions.weight +
                "'); nothing to learn from (set train.weighted_loss = false to ignore the weights)");
  const double mean = sum / static_cast<double>(data.split.train.size());
  std::vector<float> out(w.size());
  for (size_t r = 0; r < w.size(); ++r) out[r] = static_cast<float>(w[r] / mean);
  return out;
}

StepRunner::StepRunner(nn::TwoTower model, const run::PreparedData& data, const run::RunConfig& cfg,
                       int64_t total_steps)
    : s_(std::make_unique<State>(std::move(model), data, cfg, total_steps)) {}
StepRunner::~StepRunner() = default;

double StepRunner::current_lr() const { return s_->schedule.at(std::max<int64_t>(s_->global_step - 1, 0)); }

double StepRunner::step(const int64_t* rows, int64_t len) {
  auto& st = *s_;
  const auto& inter = st.data.dataset.interactions;
  std::vector<int64_t> users(len), items(len);
  std::vector<float> weights(st.pair_weight.empty() ? 0 : len);
  for (int64_t i = 0; i < len; ++i) {
    users[i] = inter.user[rows[i]];
    items[i] = inter.item[rows[i]];
    if (!weights.empty()) weights[i] = st.pair_weight[rows[i]];
  }
  if (st.tc.loss != run::LossKind::kSoftmax) st.add_negatives(items);
  double loss;
  if (st.gpu_step) {
    loss = st.gpu_step->step(users.data(), items.data(), len, st.schedule.at(st.global_step),
                             weights.empty() ? nullptr : weights.data());
    st.last_skipped = st.gpu_step->last_step_skipped();
  } else {
    loss = st.cpu_step(users, items, weights.empty() ? torch::Tensor() : torch::tensor(weights));
  }
  ++st.global_step;
  return loss;
}

bool StepRunner::last_step_skipped() const { return s_->last_skipped; }

void StepRunner::save_state(nlohmann::ordered_json& state, io::NamedTensors& tensors) const {
  const auto& st = *s_;
  torch::NoGradGuard no_grad;
  std::ostringstream rng;
  rng << st.rng;
  state = {{"global_step", st.global_step}, {"negatives_rng", rng.str()}};
  for (const auto& p : st.model->named_parameters()) tensors.emplace_back("model/" + p.key(), p.value().detach());
  for (const auto& b : st.model->named_buffers()) tensors.emplace_back("buffer/" + b.key(), b.value().detach());
  if (st.gpu_step) {
    for (auto& [name, t] : st.gpu_step->state()) tensors.emplace_back(name, t);
  } else {
    // LibTorch's own serialisation of AdamW (moments and step counts by parameter position), as bytes.
    torch::serialize::OutputArchive archive;
    st.optimizer->save(archive);
    std::ostringstream bytes;
    archive.save_to(bytes);
    const std::string b = bytes.str();
    tensors.emplace_back(
        "optimizer/torch",
        torch::from_blob(const_cast<char*>(b.data()), {static_cast<int64_t>(b.size())}, torch::kUInt8).clone());
  }
  save_torch_generators(tensors, st.device);
}

void StepRunner::load_state(const nlohmann::ordered_json& state, const std::map<std::string, torch::Tensor>& tensors) {
  auto& st = *s_;
  torch::NoGradGuard no_grad;
  const auto at = [&](const std::string& name) -> const torch::Tensor& {
    auto it = tensors.find(name);
    if (it == tensors.end()) throw Error("checkpoint: no tensor " + name + " (the model or optimizer differs)");
    return it->second;
  };
  for (auto& p : st.model->named_parameters()) {
    const auto& t = at("model/" + p.key());
    if (!t.sizes().equals(p.value().sizes())) throw Error("checkpoint: tensor model/" + p.key() + " has another shape");
    p.value().copy_(t);
  }
  for (auto& b : st.model->named_buffers()) b.value().copy_(at("buffer/" + b.key()));
  if (st.gpu_step) {
    st.gpu_step->load_state(tensors);
  } else {
    const torch::Tensor bytes = at("optimizer/torch").contiguous();
    std::istringstream in(std::string(static_cast<const char*>(bytes.data_ptr()), bytes.numel()));
    torch::serialize::InputArchive archive;
    archive.load_from(in);
    st.optimizer->load(archive);
  }
  st.global_step = state.at("global_step").get<int64_t>();
  std::istringstream rng(state.at("negatives_rng").get<std::string>());
  rng >> st.rng;
  load_torch_generators(tensors, st.device);
}

int64_t StepRunner::skipped_steps() const { return s_->gpu_step ? s_->gpu_step->skipped_steps() : 0; }

bool StepRunner::graph_captured() const { return s_->gpu_step && s_->gpu_step->graph_captured(); }

namespace {

std::map<std::string, torch::Tensor> by_name(const io::NamedTensors& tensors) {
  return std::map<std::string, torch::Tensor>(tensors.begin(), tensors.end());
}

}  // namespace

TrainResult train_two_tower(nn::TwoTower& model, const run::PreparedData& data, const run::RunConfig& cfg,
                            const TrainOptions& options) {
  const auto& tc = cfg.train;
  const int64_t n_train = static_cast<int64_t>(data.split.train.size());
  const int64_t steps_per_epoch = (n_train + tc.batch_size - 1) / tc.batch_size;
  set_cpu_threads(static_cast<int>(tc.threads));
  StepRunner runner(model, data, cfg, tc.epochs * steps_per_epoch);
  std::mt19937_64 rng(static_cast<uint64_t>(tc.seed));  // the epochs' shuffles

  // The loop's whole state lives in `ck`, so that a checkpoint is a copy of it.
  TrainerCheckpoint ck;
  ck.order = data.split.train;
  TrainResult result;
  const bool checkpointing = !options.checkpoint_dir.empty();
  if (checkpointing && options.resume && std::filesystem::exists(checkpoint_file(options.checkpoint_dir))) {
    ck = load_checkpoint(options.checkpoint_dir);
    if (static_cast<int64_t>(ck.order.size()) != n_train)
      throw Error(fmt::format("{}: the checkpoint holds {} training rows, the data {}; it is of another dataset",
                              checkpoint_file(options.checkpoint_dir).string(), ck.order.size(), n_train));
    runner.load_state(ck.runner, by_name(ck.tensors));
    std::istringstream shuffle_state(ck.shuffle_rng);
    shuffle_state >> rng;
    result.resumed = true;
    fmt::print(stderr, "resuming from the checkpoint: epoch {}, {} of {} steps done\n", ck.epoch,
               ck.epoch_done ? steps_per_epoch : ck.step, steps_per_epoch);
  }
  // With checkpoints, a signal stops the run after the step in progress, with a checkpoint.
  std::optional<StopAtNextStep> stop_at_next_step;
  if (checkpointing) stop_at_next_step.emplace();
  Stopwatch since_checkpoint;
  const auto write_checkpoint = [&] {
    std::ostringstream shuffle;
    shuffle << rng;
    ck.shuffle_rng = shuffle.str();
    ck.tensors.clear();
    runner.save_state(ck.runner, ck.tensors);
    save_checkpoint(options.checkpoint_dir, ck);
    since_checkpoint.restart();
  };
  const auto stop_if_interrupted = [&] {
    if (const int sig = interrupt_signal())
      throw Interrupted(fmt::format("stopped by signal {} at epoch {}, step {}; the checkpoint is kept: run the same "
                                    "command with --resume to continue",
                                    sig, ck.epoch, ck.step),
                        sig);
  };

  const bool mid_epoch = result.resumed && !ck.epoch_done;
  for (int64_t epoch = ck.epoch_done ? ck.epoch + 1 : ck.epoch; !ck.finished && epoch <= tc.epochs; ++epoch) {
    if (!(mid_epoch && epoch == ck.epoch)) {
      std::shuffle(ck.order.begin(), ck.order.end(), rng);
      ck.epoch = epoch;
      ck.step = 0;
      ck.epoch_done = false;
      ck.loss_sum = 0;
      ck.samples = 0;
      ck.skipped_before = runner.skipped_steps();
      ck.epoch_seconds = 0;
    }
    ProgressBar bar(fmt::format("epoch {}/{}", epoch, tc.epochs), steps_per_epoch, !options.quiet);
    const Stopwatch epoch_watch;  // each step returns its loss to the host, so the device is done at the end
    const double seconds_before = ck.epoch_seconds;
    for (int64_t step = ck.step; step < steps_per_epoch; ++step) {
      const int64_t start = step * tc.batch_size, len = std::min(tc.batch_size, n_train - start);
      if (len < 2) break;  // a one-pair batch has no in-batch negatives
      const double l = runner.step(ck.order.data() + start, len);
      const bool skipped = runner.last_step_skipped();
      if (skipped) {
        ++ck.nonfinite_steps;
        if (++ck.nonfinite_in_a_row > tc.max_nonfinite_steps)
          throw Error(
              fmt::format("training diverged: {} steps in a row had a non-finite loss or gradient (the last at "
                          "epoch {} step {}; train.max_nonfinite_steps = {}){}",
                          ck.nonfinite_in_a_row, epoch, step + 1, tc.max_nonfinite_steps,
                          checkpointing ? "; the last checkpoint is kept" : ""));
        fmt::print(stderr, "\nepoch {} step {}: non-finite loss or gradient, step skipped\n", epoch, step + 1);
      } else {
        ck.nonfinite_in_a_row = 0;
        ck.loss_sum += l * len;
        ck.samples += len;
      }
      ck.step = step + 1;
      bar.update(step + 1, ck.samples, ck.samples ? ck.loss_sum / ck.samples : 0.0);
      const bool due = (tc.checkpoint_steps > 0 && ck.step % tc.checkpoint_steps == 0) ||
                       (tc.checkpoint_minutes > 0 && since_checkpoint.seconds() >= tc.checkpoint_minutes * 60.0);
      if (ck.step < steps_per_epoch && checkpointing && (due || interrupt_signal())) {  // else the epoch's end
        ck.epoch_seconds = seconds_before + epoch_watch.seconds();
        write_checkpoint();
        stop_if_interrupted();
      }
    }
    bar.finish();
    const double seconds = seconds_before + epoch_watch.seconds();
    ck.train_seconds += seconds;
    ck.total_samples += ck.samples;

    auto valid = validation_metrics(model, data, tc.valid_users, cfg.eval.batch_size, static_cast<uint64_t>(tc.seed));
    const double hr10 = valid.contains("HR@10") ? valid["HR@10"].get<double>() : 0.0;
    const bool improved = hr10 > ck.best_valid_hr10;
    if (improved) {
      ck.best_valid_hr10 = hr10;
      ck.best_epoch = epoch;
      ck.best_state = snapshot(*model);
      ck.bad_epochs = 0;
    } else {
      ++ck.bad_epochs;
    }
    run::EpochRecord rec;
    rec.epoch = epoch;
    rec.loss = ck.samples ? ck.loss_sum / ck.samples : 0.0;
    rec.lr = runner.current_lr();
    rec.seconds = seconds;
    rec.samples_per_sec = seconds > 0 ? ck.samples / seconds : 0.0;
    rec.skipped_steps = runner.skipped_steps() - ck.skipped_before;
    rec.valid = valid;
    rec.best = improved;
    ck.history.push_back(rec);
    ck.epoch_done = true;
    if (tc.patience > 0 && ck.bad_epochs >= tc.patience) ck.stopped_early = true;
    ck.finished = ck.stopped_early || epoch == tc.epochs;
    if (checkpointing) write_checkpoint();
    if (options.on_epoch) options.on_epoch(rec, ck.history);
    stop_if_interrupted();
  }
  if (!ck.best_state.empty()) restore(*model, ck.best_state);
  result.history = ck.history;
  result.best_epoch = ck.best_epoch;
  result.best_valid_hr10 = ck.best_valid_hr10;
  result.train_seconds = ck.train_seconds;
  result.stopped_early = ck.stopped_early;
  result.nonfinite_steps = ck.nonfinite_steps;
  result.samples_per_sec = ck.train_seconds > 0 ? ck.total_samples / ck.train_seconds : 0.0;
  model->eval();
  return result;
}

}  // namespace ftmamba::train
