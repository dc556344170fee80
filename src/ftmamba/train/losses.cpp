#include "ftmamba/train/losses.h"

#include <unordered_map>

#include "ftmamba/core/error.h"

namespace ftmamba::train {

torch::Tensor in_batch_softmax_loss(const torch::Tensor& user_emb, const torch::Tensor& item_emb,
                                    const torch::Tensor& target, const torch::Tensor& hit_mask,
                                    const torch::Tensor& log_q, double temperature, const torch::Tensor& pair_weight) {
  auto logits = torch::matmul(user_emb, item_emb.t()).to(torch::kFloat32) / temperature;  // (B, U)
  if (log_q.defined()) logits = logits - log_q.to(logits.dtype()).unsqueeze(0);
  if (hit_mask.defined()) logits = logits.masked_fill(hit_mask, -1e9);
  if (!pair_weight.defined()) return torch::nn::functional::cross_entropy(logits, target);
  namespace F = torch::nn::functional;
  return (F::cross_entropy(logits, target, F::CrossEntropyFuncOptions().reduction(torch::kNone)) * pair_weight).mean();
}

torch::Tensor in_batch_softmax_loss_fixed(const torch::Tensor& user_emb, const torch::Tensor& item_emb,
                                          const torch::Tensor& users, const torch::Tensor& first_col,
                                          const torch::Tensor& log_q, double temperature,
                                          const torch::Tensor& pair_weight) {
  const int64_t b = users.size(0);
  const auto col = torch::arange(b, first_col.options());
  const auto repeated = (col != first_col).unsqueeze(0);  // (1, B) a later copy
  // Pair j of row i's user with another item hides that item's column first_col[j] from row i. Several
  // pairs can name one column, so count them (scatter_add of integers is deterministic) and test > 0.
  const auto hit_pair = (users.unsqueeze(1) == users.unsqueeze(0))
                            .logical_and(first_col.unsqueeze(1) != first_col.unsqueeze(0));  // (B, B)
  const auto hits = torch::zeros({b, b}, first_col.options().dtype(torch::kInt32))
                        .scatter_add_(1, first_col.unsqueeze(0).expand({b, b}), hit_pair.to(torch::kInt32));
  const auto mask = repeated.logical_or(hits > 0);  // (B, B)
  return in_batch_softmax_loss(user_emb, item_emb, first_col, mask, log_q, temperature, pair_weight);
}

torch::Tensor accidental_hit_mask(const torch::Tensor& users, const torch::Tensor& item_cols, int64_t n_cols) {
  const int64_t b = users.size(0);
  auto mask = torch::zeros({b, n_cols}, torch::kBool);
  auto u = users.contiguous(), c = item_cols.contiguous();
  const int64_t* up = u.data_ptr<int64_t>();
  const int64_t* cp = c.data_ptr<int64_t>();
  bool* m = mask.data_ptr<bool>();
  std::unordered_map<int64_t, std::vector<int64_t>> rows_of_user;
  for (int64_t i = 0; i < b; ++i) rows_of_user[up[i]].push_back(i);
  for (const auto& [user, rows] : rows_of_user) {
    if (rows.size() < 2) continue;
    for (int64_t i : rows)
      for (int64_t j : rows)
        if (cp[j] != cp[i]) m[i * n_cols + cp[j]] = true;  // j's item is also a positive of i's user
  }
  return mask;
}

torch::Tensor pointwise_loss(const torch::Tensor& pos, const torch::Tensor& neg, run::LossKind kind,
                             const torch::Tensor& pair_weight) {
  auto p = pos.to(torch::kFloat32), n = neg.to(torch::kFloat32);
  torch::Tensor terms;
  if (kind == run::LossKind::kBce) {
    // -log sigmoid(p) - log(1 - sigmoid(n)), averaged over all pairs (positives and negatives alike).
    terms = torch::nn::functional::softplus(torch::cat({-p, n}));
  } else if (kind == run::LossKind::kMse) {
    terms = torch::cat({(p - 1).pow(2), n.pow(2)});
  } else {
    throw Error("pointwise_loss: " + enum_name(kind) + " is not a pointwise loss");
  }
  if (!pair_weight.defined()) return terms.mean();
  const int64_t k = n.size(0) / std::max<int64_t>(p.size(0), 1);  // negatives per pair, pair-major
  return (terms * torch::cat({pair_weight, pair_weight.repeat_interleave(k)})).mean();
}

torch::Tensor pointwise_batch_loss(const torch::Tensor& user_emb, const torch::Tensor& item_emb, int64_t k,
                                   run::LossKind kind, double temperature, const torch::Tensor& pair_weight) {
  const int64_t len = user_emb.size(0);
  auto pos_emb = item_emb.narrow(0, 0, len);                           // (B, E)
  auto neg_emb = item_emb.narrow(0, len, len * k).view({len, k, -1});  // (B, k, E)
  auto pos = (user_emb * pos_emb).sum(-1);                             // (B)
  auto neg = (user_emb.unsqueeze(1) * neg_emb).sum(-1).reshape({-1});  // (B k)
  if (kind == run::LossKind::kBce) pos = pos / temperature, neg = neg / temperature;
  return pointwise_loss(pos, neg, kind, pair_weight);
}

}  // namespace ftmamba::train
