// defines: the two-tower training losses: in-batch sampled softmax (temperature, logQ correction,
// accidental hits removed) and pointwise BCE / MSE on positives plus sampled negatives.
#pragma once
#include <torch/torch.h>

#include "ftmamba/run/config.h"

namespace ftmamba::train {

// user_emb: (B, E), one row per training pair.
// item_emb: (U, E), the batch's distinct items (each item once, so a duplicated positive is one column).
// target:   (B) int64, column of each pair's positive item.
// hit_mask: (B, U) bool or undefined; true where column j is another positive of row i's user in this
//           batch (an accidental hit), which is removed from row i's softmax.
// log_q:    (U) log sampling probability of each item, or undefined for no logQ correction.
// pair_weight: (B) float32 or undefined (every pair 1).
// loss = mean_i w_i CE(softmax_j(<u_i, v_j>/T - log_q_j), target_i)
torch::Tensor in_batch_softmax_loss(const torch::Tensor& user_emb, const torch::Tensor& item_emb,
                                    const torch::Tensor& target, const torch::Tensor& hit_mask,
                                    const torch::Tensor& log_q, double temperature,
                                    const torch::Tensor& pair_weight = {});

// The same loss in fixed-shape form, as the GPU step computes it (no host work, no data-dependent shapes):
// item_emb: (B, E), one row per pair, so an item that is the positive of several pairs appears several times.
// users:     (B) int64, the user of each pair (pairs of one user mask each other's positives).
// first_col: (B) int64, the first pair with the same item; it is the target column, and every later column
//            of that item is masked in all rows, which leaves exactly the distinct-item softmax above.
// log_q:     (B) log q of each pair's item, or undefined.
torch::Tensor in_batch_softmax_loss_fixed(const torch::Tensor& user_emb, const torch::Tensor& item_emb,
                                          const torch::Tensor& users, const torch::Tensor& first_col,
                                          const torch::Tensor& log_q, double temperature,
                                          const torch::Tensor& pair_weight = {});

// Builds hit_mask for a batch: users (B) and item_cols (B) as above.
torch::Tensor accidental_hit_mask(const torch::Tensor& users, const torch::Tensor& item_cols, int64_t n_cols);

// The pointwise loss of a batch from its embeddings: user_emb (B, E); item_emb (B (1 + k), E), the B
// positives and then k random negatives per pair, pair-major. Scores are dot products, divided by the
// temperature for bce. pair_weight: (B) or undefined; a pair's weight scales its positive's term and its
// negatives' terms.
torch::Tensor pointwise_batch_loss(const torch::Tensor& user_emb, const torch::Tensor& item_emb, int64_t k,
                                   run::LossKind kind, double temperature, const torch::Tensor& pair_weight = {});

// Pointwise loss, the FT-Mamba paper's setting. pos: (B) scores of positives, neg: (B * k) scores of
// random negatives (already divided by the temperature for bce). bce: logistic loss; mse: (s - label)^2.
// pair_weight: (B) or undefined, as pointwise_batch_loss.
torch::Tensor pointwise_loss(const torch::Tensor& pos, const torch::Tensor& neg, run::LossKind kind,
                             const torch::Tensor& pair_weight = {});

}  // namespace ftmamba::train
