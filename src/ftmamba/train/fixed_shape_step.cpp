// defines: FixedShapeStep (see fixed_shape_step.h).
#include "ftmamba/train/fixed_shape_step.h"

#include <optional>
#include <unordered_map>

#include "ftmamba/core/device.h"
#include "ftmamba/ops/cuda_graph_step.h"
#include "ftmamba/ops/precision.h"
#include "ftmamba/run/config.h"
#include "ftmamba/train/losses.h"
#include "ftmamba/train/multi_tensor_adamw.h"

namespace ftmamba::train {
namespace {

// Eager steps before the capture (see cuda_graph_step.h).
constexpr int kWarmupSteps = 2;

}  // namespace

struct FixedShapeStep::Impl {
  nn::TwoTower model;
  data::EncodedFeatures users, items;
  torch::Tensor item_log_q;
  run::TrainConfig tc;
  int64_t batch;
  torch::Device device;
  bool use_graph;
  MultiTensorAdamW optimizer;
  ops::Precision precision;
  std::optional<ops::DynamicLossScaler> scaler;  // fp16 only
  bool softmax;
  bool last_skipped = false;
  std::unordered_map<int64_t, int64_t> first_seen;  // pack()'s item -> first pair, kept to reuse its buckets
  // The ids of a step, packed as [users (len) | items (len * items_per_pair) | first_col (len, softmax)]:
  // host_ids is the staging buffer (pinned on a GPU), device_ids the full batch's copy the graph reads.
  torch::Tensor host_ids, device_ids;
  // weighted only: the pair weights, (batch) float32, staged and on the device as the ids are.
  bool weighted;
  torch::Tensor host_weights, device_weights;
  std::unique_ptr<ops::CudaGraphStep> graphed;  // the full-batch step, once a full batch comes (use_graph)

  Impl(nn::TwoTower m, data::EncodedFeatures u, data::EncodedFeatures i, torch::Tensor lq, const run::TrainConfig& t,
       int64_t b, bool graph, bool w)
      : model(std::move(m)),
        users(std::move(u)),
        items(std::move(i)),
        item_log_q(std::move(lq)),
        tc(t),
        batch(b),
        device(module_device(*model)),
        use_graph(graph && graphs_supported() && device.is_cuda()),
        optimizer(*model, tc.weight_decay),
        precision(tc.precision),
        softmax(tc.loss == run::LossKind::kSoftmax),
        weighted(w) {
    if (precision == ops::Precision::kFp16) scaler.emplace(device);
    const auto host = torch::TensorOptions().dtype(torch::kInt64).pinned_memory(device.is_cuda());
    host_ids = torch::empty({packed_length(batch)}, host);
    device_ids = torch::empty({packed_length(batch)}, torch::TensorOptions().dtype(torch::kInt64).device(device));
    if (weighted) {
      host_weights = torch::empty({batch}, host.dtype(torch::kFloat32));
      device_weights = torch::empty({batch}, torch::TensorOptions().dtype(torch::kFloat32).device(device));
    }
  }

  int64_t items_per_pair() const { return softmax ? 1 : 1 + tc.negatives; }
  int64_t packed_length(int64_t len) const { return len * (1 + items_per_pair()) + (softmax ? len : 0); }

  void pack(const int64_t* u, const int64_t* it, int64_t len, const float* w) {
    if (weighted) std::copy(w, w + len, host_weights.data_ptr<float>());
    int64_t* out = host_ids.data_ptr<int64_t>();
    std::copy(u, u + len, out);
    std::copy(it, it + len * items_per_pair(), out + len);
    if (!softmax) return;
    int64_t* first_col = out + len * (1 + items_per_pair());
    first_seen.clear();
    for (int64_t j = 0; j < len; ++j) first_col[j] = first_seen.emplace(it[j], j).first->second;
  }

  // Forward, backward and optimizer step on packed ids (on the device). No host synchronisation and no
  // data-dependent shape, so it can be captured. Returns (2) float32: the loss, and 1 when the step was
  // skipped because the loss or a gradient was not finite (MultiTensorAdamW::backward_and_apply).
  // weights: (len) on the device, or undefined when unweighted.
  torch::Tensor forward_backward_update(const torch::Tensor& ids, const torch::Tensor& weights, int64_t len) {
    const int64_t n_items = len * items_per_pair();
    const auto user_rows = ids.narrow(0, 0, len), item_rows = ids.narrow(0, len, n_items);
    torch::Tensor user_emb, item_emb;
    {
      // The towers in the training precision (no cast cache: each weight is cast once a step anyway, and a
      // cache would outlive a captured graph); the loss in float32.
      ops::AutocastScope autocast(precision, device, /*cache=*/false);
      user_emb = model->encode_users(users.index_select(user_rows)).to(torch::kFloat32);  // (B, E)
      item_emb = model->encode_items(items.index_select(item_rows)).to(torch::kFloat32);  // (B items_per_pair, E)
    }
    torch::Tensor loss;
    if (softmax) {
      const auto log_q = tc.logq ? item_log_q.index_select(0, item_rows) : torch::Tensor();
      loss = in_batch_softmax_loss_fixed(user_emb, item_emb, user_rows, ids.narrow(0, len + n_items, len), log_q,
                                         tc.temperature, weights);
    } else {
      loss = pointwise_batch_loss(user_emb, item_emb, tc.negatives, tc.loss, tc.temperature, weights);
    }
    optimizer.zero_grad();
    const auto skipped = optimizer.backward_and_apply(loss, tc.grad_clip, scaler ? &*scaler : nullptr);
    return torch::stack({loss.detach().to(torch::kFloat32), skipped});
  }

  // Reads a step's (2) outcome back to the host (one copy: the host waits for the step).
  double read(const torch::Tensor& outcome) {
    const auto host = outcome.to(torch::kCPU);
    last_skipped = host[1].item<float>() != 0;
    return host[0].item<double>();
  }

  double eager(int64_t len, double lr) {
    const auto ids = host_ids.narrow(0, 0, packed_length(len)).to(device, /*non_blocking=*/true);
    const auto weights = weighted ? host_weights.narrow(0, 0, len).to(device, /*non_blocking=*/true) : torch::Tensor();
    optimizer.set_lr(lr);
    return read(forward_backward_update(ids, weights, len));
  }

  double graphed_step(double lr) {
    if (!graphed)
      graphed = std::make_unique<ops::CudaGraphStep>(
          device, kWarmupSteps, [this] { return forward_backward_update(device_ids, device_weights, batch); },
          [this] { optimizer.zero_grad(); });
    graphed->stage([&] {
      device_ids.copy_(host_ids, /*non_blocking=*/true);
      if (weighted) device_weights.copy_(host_weights, /*non_blocking=*/true);
      optimizer.set_lr(lr);
    });
    return read(graphed->step());
  }

  double step(const int64_t* u, const int64_t* it, int64_t len, double lr, const float* w) {
    model->train();
    pack(u, it, len, w);
    if (use_graph && len == batch) return graphed_step(lr);
    return eager(len, lr);
  }
};

FixedShapeStep::FixedShapeStep(nn::TwoTower model, data::EncodedFeatures users, data::EncodedFeatures items,
                               torch::Tensor item_log_q, const run::TrainConfig& tc, int64_t batch, bool use_graph,
                               bool weighted)
    : s_(std::make_unique<Impl>(std::move(model), std::move(users), std::move(items), std::move(item_log_q), tc, batch,
                                use_graph, weighted)) {}
FixedShapeStep::~FixedShapeStep() = default;

double FixedShapeStep::step(const int64_t* users, const int64_t* items, int64_t len, double lr, const float* weights) {
  TORCH_CHECK(len >= 2 && len <= s_->batch, "FixedShapeStep: a batch holds 2 to ", s_->batch, " pairs, got ", len);
  TORCH_CHECK(s_->weighted == (weights != nullptr), "FixedShapeStep: pair weights given ", weights != nullptr,
              ", constructed weighted ", s_->weighted);
  return s_->step(users, items, len, lr, weights);
}

std::vector<std::pair<std::string, torch::Tensor>> FixedShapeStep::state() const {
  auto out = s_->optimizer.state();
  for (auto& [name, t] : out) name = "optimizer/" + name;
  if (s_->scaler)
    for (const auto& [name, t] : s_->scaler->state()) out.emplace_back("scaler/" + name, t);
  return out;
}

void FixedShapeStep::load_state(const std::map<std::string, torch::Tensor>& state) {
  torch::NoGradGuard no_grad;
  s_->optimizer.load_state(state, "optimizer/");
  if (s_->scaler)
    for (const auto& [name, t] : s_->scaler->state()) t.copy_(state.at("scaler/" + name));
}

bool FixedShapeStep::last_step_skipped() const { return s_->last_skipped; }

int64_t FixedShapeStep::skipped_steps() const { return s_->scaler ? s_->scaler->skipped_steps() : 0; }

bool FixedShapeStep::graph_captured() const { return s_->graphed && s_->graphed->captured(); }

bool FixedShapeStep::graphs_supported() {
  return ops::CudaGraphStep::supported() &&
         MultiTensorAdamW::capturable();  // the optimizer step must be capturable too
}

}  // namespace ftmamba::train
