#include "ftmamba/train/linear_cross_entropy.h"

#include <algorithm>
#include <stdexcept>

#include "ftmamba/ops/precision.h"

namespace ftmamba::train {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

class LinearCrossEntropyFunction : public torch::autograd::Function<LinearCrossEntropyFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& hidden, const torch::Tensor& weight,
                               const torch::Tensor& targets, int64_t chunk_rows, int64_t compute_dtype,
                               bool grad_enabled) {
    const auto cd = static_cast<torch::ScalarType>(compute_dtype);
    const int64_t rows = hidden.size(0);
    // Gradient mode is off inside forward(): the caller's is passed in, so that a no-grad call (evaluation)
    // forms no gradients even for a weight that requires them.
    const bool want_h = grad_enabled && hidden.requires_grad(), want_w = grad_enabled && weight.requires_grad();
    // Logits, log-softmax, loss and gradients accumulate in float32, or float64 for float64 inputs.
    const auto acc = cd == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
    const auto f32 = hidden.options().dtype(acc);
    const auto h = hidden.to(cd), w = weight.to(cd);  // (rows, d), (vocab, d)
    torch::Tensor grad_h = want_h ? torch::empty({rows, hidden.size(1)}, f32) : torch::Tensor();
    torch::Tensor grad_w = want_w ? torch::zeros(weight.sizes(), f32) : torch::Tensor();
    auto loss_sum = torch::zeros({}, f32);
    for (int64_t begin = 0; begin < rows; begin += chunk_rows) {
      const int64_t n = std::min(chunk_rows, rows - begin);
      const auto hc = h.narrow(0, begin, n);
      const auto tc = targets.narrow(0, begin, n).unsqueeze(1);  // (n, 1)
      auto logits = torch::matmul(hc, w.t()).to(acc);            // (n, vocab)
      const auto lse = logits.logsumexp(1, /*keepdim=*/true);    // (n, 1)
      loss_sum += (lse - logits.gather(1, tc)).sum();
      if (!want_h && !want_w) continue;
      // d(sum of losses)/d logits = softmax - onehot, formed in place over the logits. The 1 / rows of the
      // mean is applied after the matmuls, in float32: divided first, fp16 would flush the small entries.
      auto g = logits.sub_(lse).exp_();
      g.scatter_add_(1, tc, torch::full({n, 1}, -1.0, f32));
      const auto gc = g.to(cd);
      if (want_h) grad_h.narrow(0, begin, n).copy_(torch::matmul(gc, w));  // (n, d)
      if (want_w) grad_w.add_(torch::matmul(gc.t(), hc).to(acc));          // (vocab, d)
    }
    if (want_h) grad_h.div_(static_cast<double>(rows));
    if (want_w) grad_w.div_(static_cast<double>(rows));
    ctx->save_for_backward({grad_h, grad_w});
    ctx->saved_data["hidden_dtype"] = static_cast<int64_t>(hidden.scalar_type());
    ctx->saved_data["weight_dtype"] = static_cast<int64_t>(weight.scalar_type());
    return loss_sum / static_cast<double>(rows);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    const auto saved = ctx->get_saved_variables();
    const auto& g = grad_out[0];  // (), the loss's dtype
    const auto scaled = [&](const torch::Tensor& t, const char* dtype) {
      return t.defined() ? (t * g).to(static_cast<torch::ScalarType>(ctx->saved_data[dtype].toInt())) : torch::Tensor();
    };
    return {scaled(saved[0], "hidden_dtype"), scaled(saved[1], "weight_dtype"), {}, {}, {}, {}};
  }
};

// A chunk's logits: 2^24 elements, 64 MiB in float32. A chunk holds its float32 logits, their bf16 product and
// logsumexp's scratch at the end of the forward, on top of every layer's activations: with 2^26 a chunk, a 2-layer
// d 1024 model on 512 tokens peaked 331 KiB a token higher in full fp32 and 197 in LoRA bf16 (CPU, max RSS).
// 333 rows a chunk at vocabulary 50,280 still make products large enough to run at speed.
constexpr int64_t kChunkElements = int64_t{1} << 24;

}  // namespace

torch::Tensor linear_cross_entropy(const torch::Tensor& hidden, const torch::Tensor& weight,
                                   const torch::Tensor& targets, int64_t chunk_rows) {
  if (hidden.dim() != 2 || weight.dim() != 2 || targets.dim() != 1 || hidden.size(1) != weight.size(1) ||
      targets.size(0) != hidden.size(0) || hidden.size(0) == 0)
    throw std::invalid_argument("linear_cross_entropy: need hidden (rows > 0, d), weight (vocab, d), targets (rows)");
  if (chunk_rows <= 0) chunk_rows = std::max<int64_t>(1, kChunkElements / weight.size(0));
  const auto cd = ops::matmul_dtype(hidden.device(), hidden.scalar_type());
  return LinearCrossEntropyFunction::apply(hidden, weight, targets, chunk_rows, static_cast<int64_t>(cd),
                                           torch::GradMode::is_enabled());
}

torch::Tensor causal_lm_loss(nn::MambaLM& model, const torch::Tensor& tokens, int64_t chunk_rows) {
  const int64_t L = tokens.size(1);
  if (L < 2) throw std::invalid_argument("causal_lm_loss needs sequences of at least 2 tokens");
  const auto hidden = model->hidden_states(tokens).narrow(1, 0, L - 1);  // (batch, L-1, d)
  return linear_cross_entropy(hidden.reshape({-1, hidden.size(2)}), model->embedding->weight,
                              tokens.narrow(1, 1, L - 1).reshape({-1}), chunk_rows);
}

torch::Tensor masked_causal_lm_loss(nn::MambaLM& model, const torch::Tensor& tokens, const torch::Tensor& targets,
                                    int64_t chunk_rows) {
  const int64_t L = tokens.size(1);
  if (L < 2) throw std::invalid_argument("masked_causal_lm_loss needs sequences of at least 2 tokens");
  // The rows whose next token is a target: position t predicts token t + 1.
  const auto rows = targets.narrow(1, 1, L - 1).reshape({-1}).to(torch::kBool).nonzero().squeeze(1);  // (n)
  if (rows.numel() == 0) throw std::invalid_argument("masked_causal_lm_loss: no target tokens in the batch");
  const auto hidden = model->hidden_states(tokens).narrow(1, 0, L - 1);  // (batch, L-1, d)
  return linear_cross_entropy(hidden.reshape({-1, hidden.size(2)}).index_select(0, rows), model->embedding->weight,
                              tokens.narrow(1, 1, L - 1).reshape({-1}).index_select(0, rows), chunk_rows);
}

}  // namespace ftmamba::train
