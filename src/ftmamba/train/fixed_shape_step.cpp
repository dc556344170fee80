// defines: FixedShapeStep (see fixed_shape_step.h).
#include "ftmamba/train/fixed_shape_step.h"

#include <optional>
#include <unordered_map>

#include "ftmamba/core/device.h"
#include "ftmamba/ops/precision.h"
#include "ftmamba/run/config.h"
#include "ftmamba/train/losses.h"
#include "ftmamba/train/multi_tensor_adamw.h"

#ifdef FTMAMBA_WITH_CUDA
#define FTMAMBA_CUDA_GRAPHS 1
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace ftmamba::train {
namespace {

// Eager steps on the capture stream before capturing: they initialise what is created lazily on first use
// (cuBLAS handles and workspaces, kernel attributes) so that none of it happens during capture.
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
  std::unordered_map<int64_t, int64_t> first_seen;  // pack()'s item -> first pair, kept to reuse its buckets
  // The ids of a step, packed as [users (len) | items (len * items_per_pair) | first_col (len, softmax)]:
  // host_ids is the staging buffer (pinned on a GPU), device_ids the full batch's copy the graph reads.
  torch::Tensor host_ids, device_ids;
#ifdef FTMAMBA_CUDA_GRAPHS
  std::optional<c10::cuda::CUDAStream> stream;  // warm-up, capture and replay run here
  std::unique_ptr<at::cuda::CUDAGraph> graph;
  torch::Tensor graph_loss;  // () written by every replay
  int warmed_up = 0;
#endif

  Impl(nn::TwoTower m, data::EncodedFeatures u, data::EncodedFeatures i, torch::Tensor lq, const run::TrainConfig& t,
       int64_t b, bool graph)
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
        softmax(tc.loss == run::LossKind::kSoftmax) {
    if (precision == ops::Precision::kFp16) scaler.emplace(device);
    const auto host = torch::TensorOptions().dtype(torch::kInt64).pinned_memory(device.is_cuda());
    host_ids = torch::empty({packed_length(batch)}, host);
    device_ids = torch::empty({packed_length(batch)}, torch::TensorOptions().dtype(torch::kInt64).device(device));
  }

  int64_t items_per_pair() const { return softmax ? 1 : 1 + tc.negatives; }
  int64_t packed_length(int64_t len) const { return len * (1 + items_per_pair()) + (softmax ? len : 0); }

  void pack(const int64_t* u, const int64_t* it, int64_t len) {
    int64_t* out = host_ids.data_ptr<int64_t>();
    std::copy(u, u + len, out);
    std::copy(it, it + len * items_per_pair(), out + len);
    if (!softmax) return;
    int64_t* first_col = out + len * (1 + items_per_pair());
    first_seen.clear();
    for (int64_t j = 0; j < len; ++j) first_col[j] = first_seen.emplace(it[j], j).first->second;
  }

  // Forward, backward and optimizer step on packed ids (on the device). No host synchronisation and no
  // data-dependent shape, so it can be captured. Returns the () loss.
  torch::Tensor forward_backward_update(const torch::Tensor& ids, int64_t len) {
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
                                         tc.temperature);
    } else {
      loss = pointwise_batch_loss(user_emb, item_emb, tc.negatives, tc.loss, tc.temperature);
    }
    optimizer.zero_grad();
    optimizer.backward_and_apply(loss, tc.grad_clip, scaler ? &*scaler : nullptr);  // fp16: scaled, on the device
    return loss.detach();
  }

  double eager(int64_t len, double lr) {
    const auto ids = host_ids.narrow(0, 0, packed_length(len)).to(device, /*non_blocking=*/true);
    optimizer.set_lr(lr);
    return forward_backward_update(ids, len).item<double>();
  }

#ifdef FTMAMBA_CUDA_GRAPHS
  double graphed(double lr) {
    if (!stream) stream = c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device.index());
    // The side stream starts after everything queued so far (a validation pass, restored weights).
    at::cuda::CUDAEvent ready;
    ready.record(c10::cuda::getCurrentCUDAStream(device.index()));
    ready.block(*stream);
    c10::cuda::CUDAStreamGuard on_stream(*stream);
    device_ids.copy_(host_ids, /*non_blocking=*/true);
    optimizer.set_lr(lr);
    if (!graph) {
      if (warmed_up < kWarmupSteps) {
        ++warmed_up;
        return forward_backward_update(device_ids, batch).item<double>();
      }
      optimizer.zero_grad();  // the captured backward allocates its gradients from the graph's pool
      graph = std::make_unique<at::cuda::CUDAGraph>();
      graph->capture_begin();
      graph_loss = forward_backward_update(device_ids, batch);
      graph->capture_end();
    }
    graph->replay();
    return graph_loss.item<double>();  // on the side stream: waits for this replay only
  }
#endif

  double step(const int64_t* u, const int64_t* it, int64_t len, double lr) {
    model->train();
    pack(u, it, len);
#ifdef FTMAMBA_CUDA_GRAPHS
    if (use_graph && len == batch) return graphed(lr);
#endif
    return eager(len, lr);
  }
};

FixedShapeStep::FixedShapeStep(nn::TwoTower model, data::EncodedFeatures users, data::EncodedFeatures items,
                               torch::Tensor item_log_q, const run::TrainConfig& tc, int64_t batch, bool use_graph)
    : s_(std::make_unique<Impl>(std::move(model), std::move(users), std::move(items), std::move(item_log_q), tc, batch,
                                use_graph)) {}
FixedShapeStep::~FixedShapeStep() = default;

double FixedShapeStep::step(const int64_t* users, const int64_t* items, int64_t len, double lr) {
  TORCH_CHECK(len >= 2 && len <= s_->batch, "FixedShapeStep: a batch holds 2 to ", s_->batch, " pairs, got ", len);
  return s_->step(users, items, len, lr);
}

int64_t FixedShapeStep::skipped_steps() const { return s_->scaler ? s_->scaler->skipped_steps() : 0; }

bool FixedShapeStep::graph_captured() const {
#ifdef FTMAMBA_CUDA_GRAPHS
  return s_->graph != nullptr;
#else
  return false;
#endif
}

bool FixedShapeStep::graphs_supported() {
#ifdef FTMAMBA_CUDA_GRAPHS
  return MultiTensorAdamW::capturable();  // the optimizer step must be capturable too
#else
  return false;
#endif
}

}  // namespace ftmamba::train
